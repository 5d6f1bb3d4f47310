import type { Executor } from '../../db/database.ts';
import { newId } from '../../shared/ids.ts';
import { transitionOrder } from '../orders/index.ts';
import type { PaymentFact } from './facts.ts';
import { describeMoney, notifyPayment, recordOrderEvent, setPaymentStatus } from './payment-events.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import { applyRefundFact, recomputeRefunds, refundableAmount } from './refund-facts.ts';

export interface ConfirmContext {
  at: Date;
  /** Who reported the fact, for the audit trail: `system:webhook`, `system:reconciliation`, an admin's id. */
  actor: string;
}

export interface ConfirmResult {
  /** What was decided, e.g. `PENDING -> SUCCEEDED; order PAID`, `ignored: unknown payment`. */
  outcome: string;
  paymentId: string | null;
  /** Refunds recorded in this transaction that the gateway must be asked for after commit. */
  refundsToIssue: string[];
}

const isCaptured = (p: PaymentRow): boolean => repo.capturedStatuses.includes(p.status);

/**
 * THE confirmation path: webhooks (through the inbox worker), reconciliation, order expiry and the manual
 * provider all end here, inside the caller's transaction. Idempotent — applying a fact twice changes
 * nothing the second time — and safe in any order of arrival. Locks the order, then the payment (the
 * order of every payments transaction), so concurrent facts about one order queue behind each other.
 * A payment never goes SUCCEEDED → FAILED: a late failure is recorded in the outcome and ignored.
 */
export async function applyPaymentFact(trx: Executor, fact: PaymentFact, ctx: ConfirmContext): Promise<ConfirmResult> {
  const found = await repo.findPaymentByRef(trx, fact.ref);
  if (found === undefined) return { outcome: 'ignored: unknown payment', paymentId: null, refundsToIssue: [] };
  const order = await repo.lockOrderForPayment(trx, found.order_id);
  const payment = await repo.lockPayment(trx, found.id);
  if (order === undefined || payment === undefined) throw new Error(`payment ${found.id} lost its order`);
  const result = (outcome: string, refundsToIssue: string[] = []): ConfirmResult => ({
    outcome,
    paymentId: payment.id,
    refundsToIssue,
  });
  const { at } = ctx;

  switch (fact.kind) {
    case 'paid':
      return applyPaid(trx, order, payment, fact, ctx);
    case 'processing': {
      if (payment.status !== 'PENDING') return result(`ignored: processing, payment already ${payment.status}`);
      if (fact.paymentIntentId === null || payment.gateway_payment_intent_id !== null) {
        return result('duplicate: processing already recorded');
      }
      // Still PENDING (processing): the customer is told once, when the payment intent first appears.
      const updated = await repo.updatePayment(trx, payment.id, {
        gateway_payment_intent_id: fact.paymentIntentId,
        updated_at: at,
      });
      await notifyPayment(trx, updated, at);
      return result('processing: waiting for the asynchronous payment');
    }
    case 'declined':
      if (payment.status !== 'PENDING') return result(`ignored: decline, payment already ${payment.status}`);
      if (payment.failure_reason === fact.reason) return result('duplicate: decline already recorded');
      // The checkout stays open and the customer may try another card: recorded, still PENDING.
      await repo.updatePayment(trx, payment.id, { failure_reason: fact.reason, updated_at: at });
      return result(`decline recorded (${fact.reason}); payment stays PENDING`);
    case 'failed':
      if (payment.status === 'FAILED') return result('duplicate: already FAILED');
      if (payment.status !== 'PENDING') return result(`ignored: late failure, payment is ${payment.status}`);
      await setPaymentStatus(trx, payment, 'FAILED', { failure_reason: fact.reason }, at);
      return result('PENDING -> FAILED');
    case 'expired':
      if (payment.status === 'EXPIRED' || payment.status === 'CANCELED')
        return result(`duplicate: already ${payment.status}`);
      if (payment.status !== 'PENDING') return result(`ignored: expiry, payment is ${payment.status}`);
      await setPaymentStatus(trx, payment, 'EXPIRED', {}, at);
      return result('PENDING -> EXPIRED');
    case 'canceled':
      if (payment.status !== 'PENDING') return result(`ignored: cancel, payment is ${payment.status}`);
      await setPaymentStatus(trx, payment, 'CANCELED', { failure_reason: fact.reason }, at);
      return result(`PENDING -> CANCELED (${fact.reason})`);
    case 'open':
      return result('open: nothing to do');
    case 'refund':
      return result(await applyRefundFact(trx, order, payment, fact.refund, ctx));
    case 'refund_total': {
      const known = payment.refunded_amount;
      return result(
        `noted: gateway reports ${describeMoney(fact.amountRefunded, fact.currency)} refunded, succeeded refunds here ${describeMoney(known, payment.currency)}`,
      );
    }
  }
}

async function applyPaid(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: Extract<PaymentFact, { kind: 'paid' }>,
  ctx: ConfirmContext,
): Promise<ConfirmResult> {
  const { at, actor } = ctx;
  const result = (outcome: string, refundsToIssue: string[] = []): ConfirmResult => ({
    outcome,
    paymentId: payment.id,
    refundsToIssue,
  });
  const intentId = fact.paymentIntentId ?? payment.gateway_payment_intent_id;
  if (isCaptured(payment)) {
    if (payment.gateway_payment_intent_id === null && intentId !== null) {
      await repo.updatePayment(trx, payment.id, { gateway_payment_intent_id: intentId, updated_at: at });
    }
    return result(`duplicate: already ${payment.status}`);
  }

  const expected = `${describeMoney(order.total_amount, order.currency)}`;
  const received = describeMoney(fact.amount, fact.currency.toLowerCase());
  const matches =
    fact.amount === payment.amount &&
    fact.currency.toLowerCase() === payment.currency &&
    payment.amount === order.total_amount &&
    payment.currency === order.currency;
  if (!matches) {
    if (payment.flagged_reason !== null) return result('duplicate: already flagged');
    const reason = `received ${received}, expected ${expected}: not marked paid, an admin must review it`;
    await repo.updatePayment(trx, payment.id, {
      flagged_reason: reason,
      gateway_payment_intent_id: intentId,
      updated_at: at,
    });
    await recordOrderEvent(trx, order, 'payment.flagged', actor, `${payment.id}: ${reason}`, at);
    return result(`flagged: ${reason}`);
  }

  if (payment.status !== 'PENDING') {
    // Money for a payment we had closed (its checkout should no longer have been payable).
    const other = await repo.findActivePayment(trx, order.id);
    if (other !== undefined && other.id !== payment.id) {
      const reason = `received ${received} for ${payment.status} payment while ${other.id} is ${other.status}: refund it at the gateway`;
      if (payment.flagged_reason === null) {
        await repo.updatePayment(trx, payment.id, { flagged_reason: reason, updated_at: at });
        await recordOrderEvent(trx, order, 'payment.flagged', actor, `${payment.id}: ${reason}`, at);
      }
      return result(`flagged: ${reason}`);
    }
  }

  const from = payment.status;
  const paid = await setPaymentStatus(
    trx,
    payment,
    'SUCCEEDED',
    { succeeded_at: at, gateway_payment_intent_id: intentId },
    at,
  );
  // Refund events may have arrived before this one (any order of arrival): count them now.
  const settled = await recomputeRefunds(trx, order, paid, at);

  if (order.status === 'CREATED') {
    await transitionOrder(trx, order.id, 'PAID', {
      actor: { system: 'payments' },
      at,
      reason: `${payment.id} ${paid.provider === 'manual' ? `confirmed by ${actor}` : 'confirmed by the gateway'}`,
      paymentStatus: settled.status,
    });
    return result(`${from} -> SUCCEEDED; order CREATED -> PAID`);
  }

  // The order was cancelled (or paid otherwise) before the money arrived: give it back, automatically.
  const amount = await refundableAmount(trx, settled);
  if (amount <= 0) return result(`${from} -> SUCCEEDED for a ${order.status} order; nothing left to refund`);
  const why = order.status === 'CANCELLED' ? 'order_cancelled' : 'duplicate_payment';
  const refund = await repo.insertRefund(trx, {
    id: newId('ref'),
    payment_id: payment.id,
    amount,
    currency: payment.currency,
    status: 'PENDING',
    reason: why,
    initiated_by: 'system',
    created_at: at,
    updated_at: at,
  });
  await recordOrderEvent(
    trx,
    order,
    'payment.auto_refund',
    actor,
    `${payment.id} received ${received} for a ${order.status} order; refunding in full as ${refund.id}`,
    at,
  );
  return result(`${from} -> SUCCEEDED for a ${order.status} order; refund ${refund.id} issued`, [refund.id]);
}
