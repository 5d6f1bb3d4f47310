import { nowSeconds, noRequest } from './core.ts';
import type { Core, RequestInfo } from './core.ts';
import { ApiError, invalidParam, invalidState, resourceMissing } from './errors.ts';
import { emitEvent } from './events.ts';
import { checkExpand } from './expand.ts';
import { expandParam, metadataParam, optionalEnum, optionalInteger, optionalString, rejectUnknown } from './params.ts';
import type { Params } from './params.ts';
import type { RefundRecord } from './state.ts';
import type { Charge, Refund } from './types.ts';
import { formatMoney, randomId } from './util.ts';

function findCharge(core: Core, chargeId: string | undefined, intentId: string | undefined): Charge {
  if (chargeId !== undefined) {
    const charge = core.state.charges.get(chargeId);
    if (charge === undefined) throw resourceMissing('charge', chargeId, 'charge', 400);
    if (intentId !== undefined && charge.payment_intent !== intentId) {
      throw invalidParam('charge', `The charge ${chargeId} does not belong to the PaymentIntent ${intentId}.`);
    }
    if (charge.status !== 'succeeded') {
      throw invalidState(`Charge ${chargeId} has not succeeded and cannot be refunded.`, undefined, 'charge');
    }
    return charge;
  }
  if (intentId === undefined) {
    throw invalidParam(
      'payment_intent',
      'One of the following params should be provided for this request: payment_intent or charge.',
      'parameter_missing',
    );
  }
  const intent = core.state.intents.get(intentId)?.intent;
  if (intent === undefined) throw resourceMissing('payment_intent', intentId, 'payment_intent', 400);
  const charge = intent.latest_charge === null ? undefined : core.state.charges.get(intent.latest_charge);
  if (intent.status !== 'succeeded' || charge === undefined || charge.status !== 'succeeded') {
    throw invalidState(
      `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
      undefined,
      'payment_intent',
    );
  }
  return charge;
}

/** `POST /v1/refunds`: by `payment_intent` or `charge`; `amount` defaults to what remains. */
export function createRefund(core: Core, params: Params, request: RequestInfo): RefundRecord {
  rejectUnknown(params, [
    'payment_intent',
    'charge',
    'amount',
    'reason',
    'metadata',
    'expand',
    'instructions_email',
    'refund_application_fee',
    'reverse_transfer',
  ]);
  checkExpand('refund', expandParam(params));
  const intentId = optionalString(params.payment_intent, 'payment_intent');
  const chargeId = optionalString(params.charge, 'charge');
  const requested = optionalInteger(params.amount, 'amount');
  if (requested !== undefined && requested <= 0) throw invalidParam('amount', 'Invalid positive integer');
  const reason = optionalEnum(params.reason, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer']) ?? null;
  const metadata = metadataParam(params.metadata);
  const charge = findCharge(core, chargeId, intentId);

  const remaining = charge.amount - charge.amount_refunded;
  if (remaining <= 0) {
    throw invalidState(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
  }
  const amount = requested ?? remaining;
  if (amount > remaining) {
    throw new ApiError({
      status: 400,
      type: 'invalid_request_error',
      param: 'amount',
      message: `Refund amount (${formatMoney(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatMoney(remaining, charge.currency)})`,
    });
  }
  const intentRecord = core.state.intents.get(charge.payment_intent);
  const refundsFail = intentRecord?.refundsFail ?? false;
  // 4000 0000 0000 5126: pending until it fails; …5134: succeeded (balance transaction and all) until it fails.
  const pendingFirst = refundsFail && intentRecord?.refundsFailAfterSuccess !== true;
  const refund: Refund = {
    id: randomId('re', 24),
    object: 'refund',
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: nowSeconds(core),
    currency: charge.currency,
    failure_reason: null,
    metadata,
    payment_intent: charge.payment_intent,
    reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: pendingFirst ? 'pending' : 'succeeded',
    transfer_reversal: null,
  };
  const record: RefundRecord = { refund, failAt: refundsFail ? core.now() + core.asyncPaymentDelayMs : null };
  core.state.refunds.set(refund.id, record);
  emitEvent(core, 'refund.created', refund, { request });

  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  emitEvent(core, 'charge.refunded', charge, { previous, request });

  if (!pendingFirst) {
    // The balance transaction is attached a moment after creation, which Stripe reports as refund.updated.
    refund.balance_transaction = randomId('txn', 24);
    emitEvent(core, 'refund.updated', refund, { previous: { balance_transaction: null }, request });
  }
  if (refundsFail) scheduleRefundFailure(core, record);
  core.changed();
  return record;
}

export function scheduleRefundFailure(core: Core, record: RefundRecord): void {
  if (record.failAt === null) return;
  const id = record.refund.id;
  core.scheduler.at(`refund:${id}`, record.failAt, () => failRefund(core, id));
}

/**
 * A refund of a card whose refunds fail (4000 0000 0000 5126 pending, …5134 succeeded) fails: its amount is
 * refundable again. Stripe reports it as `charge.refund.updated` and `refund.updated`, then `refund.failed`.
 */
function failRefund(core: Core, id: string): void {
  const record = core.state.refunds.get(id);
  if (record === undefined || (record.refund.status !== 'pending' && record.refund.status !== 'succeeded')) return;
  if (record.failAt === null) return;
  const { refund } = record;
  const previousStatus = refund.status;
  record.failAt = null;
  refund.status = 'failed';
  refund.failure_reason = 'expired_or_canceled_card';
  const charge = core.state.charges.get(refund.charge);
  if (charge !== undefined) {
    charge.amount_refunded -= refund.amount;
    charge.refunded = charge.amount_refunded === charge.amount;
  }
  const previous = { status: previousStatus, failure_reason: null };
  emitEvent(core, 'charge.refund.updated', refund, { previous, request: noRequest });
  emitEvent(core, 'refund.updated', refund, { previous, request: noRequest });
  emitEvent(core, 'refund.failed', refund, { request: noRequest });
  core.changed();
}

export function findRefund(core: Core, id: string): RefundRecord {
  const record = core.state.refunds.get(id);
  if (record === undefined) throw resourceMissing('refund', id, 'refund');
  return record;
}
