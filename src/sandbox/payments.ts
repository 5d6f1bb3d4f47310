import { findSession } from './checkout.ts';
import { nowSeconds, noRequest } from './core.ts';
import type { Core } from './core.ts';
import { resourceMissing } from './errors.ts';
import { emitEvent } from './events.ts';
import type { IntentRecord, SessionRecord } from './state.ts';
import { behaviourOf, cardDetails, declinedMessage } from './cards.ts';
import type { CardDetails, Charge, CheckoutSession, PaymentError, PaymentIntent } from './types.ts';
import { isLuhnValid, randomId } from './util.ts';

export type PayOutcome = 'paid' | 'processing' | 'declined' | 'invalid_card' | 'not_open';

export interface PayResult {
  outcome: PayOutcome;
  session: CheckoutSession;
  paymentIntent: PaymentIntent | null;
  error: { code: string; decline_code: string | null; message: string } | null;
  /** Where the customer goes next: `success_url` with `{CHECKOUT_SESSION_ID}` filled in. */
  redirectUrl: string | null;
}

export function successRedirect(session: CheckoutSession): string | null {
  return session.success_url?.replaceAll('{CHECKOUT_SESSION_ID}', session.id) ?? null;
}

function ensureIntent(core: Core, record: SessionRecord): IntentRecord {
  const { session } = record;
  const existing = session.payment_intent === null ? undefined : core.state.intents.get(session.payment_intent);
  if (existing !== undefined) return existing;
  const id = randomId('pi', 24);
  const intent: PaymentIntent = {
    id,
    object: 'payment_intent',
    amount: session.amount_total,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic_async',
    client_secret: `${id}_secret_${randomId('x', 24).slice(2)}`,
    confirmation_method: 'automatic',
    created: nowSeconds(core),
    currency: session.currency,
    customer: null,
    description: record.intentData.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: { ...record.intentData.metadata },
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_types: ['card'],
    processing: null,
    receipt_email: record.intentData.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    statement_descriptor: null,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
  const intentRecord: IntentRecord = { intent, sessionId: session.id, pendingAsync: null, refundsFail: false };
  core.state.intents.set(id, intentRecord);
  session.payment_intent = id;
  emitEvent(core, 'payment_intent.created', intent);
  return intentRecord;
}

function newCharge(core: Core, intent: PaymentIntent, card: CardDetails, paymentMethod: string): Charge {
  const charge: Charge = {
    id: randomId('ch', 24),
    object: 'charge',
    amount: intent.amount,
    amount_captured: 0,
    amount_refunded: 0,
    balance_transaction: null,
    captured: false,
    created: nowSeconds(core),
    currency: intent.currency,
    description: intent.description,
    disputed: false,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: { ...intent.metadata },
    outcome: {
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      seller_message: 'Payment complete.',
      type: 'authorized',
    },
    paid: false,
    payment_intent: intent.id,
    payment_method: paymentMethod,
    payment_method_details: { card, type: 'card' },
    receipt_url: null,
    refunded: false,
    status: 'pending',
  };
  core.state.charges.set(charge.id, charge);
  intent.latest_charge = charge.id;
  intent.payment_method = paymentMethod;
  return charge;
}

function succeedCharge(core: Core, charge: Charge): void {
  charge.status = 'succeeded';
  charge.paid = true;
  charge.captured = true;
  charge.amount_captured = charge.amount;
  charge.balance_transaction = randomId('txn', 24);
  emitEvent(core, 'charge.succeeded', charge);
}

function failCharge(
  core: Core,
  intent: PaymentIntent,
  charge: Charge,
  code: string,
  declineCode: string | null,
  message: string,
): void {
  charge.status = 'failed';
  charge.failure_code = code;
  charge.failure_message = message;
  charge.outcome = {
    network_status: 'declined_by_network',
    reason: declineCode ?? code,
    risk_level: 'normal',
    seller_message: 'The bank did not return any further details with this decline.',
    type: 'issuer_declined',
  };
  const error: PaymentError = {
    type: 'card_error',
    code,
    decline_code: declineCode,
    doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`,
    message,
    charge: charge.id,
    payment_method: { id: charge.payment_method, object: 'payment_method', type: 'card' },
  };
  intent.status = 'requires_payment_method';
  intent.last_payment_error = error;
  intent.payment_method = null;
  emitEvent(core, 'charge.failed', charge);
  emitEvent(core, 'payment_intent.payment_failed', intent);
}

function succeedIntent(core: Core, intent: PaymentIntent): void {
  intent.status = 'succeeded';
  intent.amount_received = intent.amount;
  intent.last_payment_error = null;
  emitEvent(core, 'payment_intent.succeeded', intent);
}

/** The hosted page's Pay button: charge `cardInput` for the session. */
export function payWithCard(core: Core, sessionId: string, cardInput: string): PayResult {
  const record = findSession(core, sessionId);
  const { session } = record;
  const result = (outcome: PayOutcome, error: PayResult['error'] = null): PayResult => {
    const intent =
      session.payment_intent === null ? null : (core.state.intents.get(session.payment_intent)?.intent ?? null);
    const paid = outcome === 'paid' || outcome === 'processing';
    return { outcome, session, paymentIntent: intent, error, redirectUrl: paid ? successRedirect(session) : null };
  };
  if (session.status !== 'open') return result('not_open');
  const number = cardInput.replace(/[\s-]/g, '');
  if (!isLuhnValid(number)) {
    return result('invalid_card', {
      code: 'incorrect_number',
      decline_code: null,
      message: 'Your card number is incorrect.',
    });
  }
  const behaviour = behaviourOf(number);
  const intentRecord = ensureIntent(core, record);
  const { intent } = intentRecord;
  const charge = newCharge(core, intent, cardDetails(number), randomId('pm', 24));

  if (behaviour.kind === 'decline') {
    failCharge(core, intent, charge, behaviour.code, behaviour.declineCode, behaviour.message);
    core.changed();
    return result('declined', {
      code: behaviour.code,
      decline_code: behaviour.declineCode,
      message: behaviour.message,
    });
  }

  core.scheduler.cancel(`expire:${session.id}`);
  session.status = 'complete';
  session.url = null;
  session.customer_details = {
    address: null,
    email: session.customer_email,
    name: null,
    phone: null,
    tax_exempt: 'none',
    tax_ids: [],
  };
  if (behaviour.kind === 'succeed') {
    intentRecord.refundsFail = behaviour.refunds === 'fail' || behaviour.refunds === 'fail_after_success';
    intentRecord.refundsFailAfterSuccess = behaviour.refunds === 'fail_after_success';
    succeedCharge(core, charge);
    succeedIntent(core, intent);
    session.payment_status = 'paid';
    emitEvent(core, 'checkout.session.completed', session);
    core.changed();
    return result('paid');
  }
  intent.status = 'processing';
  emitEvent(core, 'charge.pending', charge);
  emitEvent(core, 'payment_intent.processing', intent);
  emitEvent(core, 'checkout.session.completed', session);
  intentRecord.pendingAsync = { outcome: behaviour.outcome, dueAt: core.now() + core.asyncPaymentDelayMs };
  scheduleAsyncSettlement(core, intentRecord);
  core.changed();
  return result('processing');
}

export function scheduleAsyncSettlement(core: Core, record: IntentRecord): void {
  if (record.pendingAsync === null) return;
  const id = record.intent.id;
  core.scheduler.at(`async:${id}`, record.pendingAsync.dueAt, () => settleAsync(core, id));
}

/** The asynchronous payment's outcome arrives: `checkout.session.async_payment_succeeded` or `…_failed`. */
function settleAsync(core: Core, intentId: string): void {
  const record = core.state.intents.get(intentId);
  if (record?.pendingAsync == null) return;
  const { intent } = record;
  const outcome = record.pendingAsync.outcome;
  record.pendingAsync = null;
  const charge = intent.latest_charge === null ? undefined : core.state.charges.get(intent.latest_charge);
  const session = core.state.sessions.get(record.sessionId)?.session;
  if (charge === undefined || session === undefined) return;
  if (outcome === 'succeed') {
    succeedCharge(core, charge);
    succeedIntent(core, intent);
    session.payment_status = 'paid';
    emitEvent(core, 'checkout.session.async_payment_succeeded', session, { request: noRequest });
  } else {
    failCharge(core, intent, charge, 'card_declined', 'generic_decline', declinedMessage);
    emitEvent(core, 'checkout.session.async_payment_failed', session, { request: noRequest });
  }
  core.changed();
}

export function findIntent(core: Core, id: string): IntentRecord {
  const record = core.state.intents.get(id);
  if (record === undefined) throw resourceMissing('payment_intent', id, 'intent');
  return record;
}
