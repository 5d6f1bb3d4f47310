/* eslint-disable max-lines -- over 300 lines; to split (issue 14, point 5) */
import type { Executor } from '../../db/database.ts';
import { conflict } from '../../shared/errors.ts';
import { transitionOrder } from '../orders/index.ts';
import type { PaymentFact } from './facts.ts';
import { describeMoney, notifyPayment, recordOrderEvent, setPaymentStatus } from './payment-events.ts';
import { heldMoney, isFlagged } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import { applyRefundFact, recomputeRefunds, recordFullRefund } from './refund-facts.ts';

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

/** What a confirmation did about `payment`, and the refunds to ask of the gateway after commit. */
function answerFor(payment: PaymentRow, outcome: string, refundsToIssue: string[]): ConfirmResult {
  return { outcome, paymentId: payment.id, refundsToIssue };
}

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
  const result = (outcome: string, refundsToIssue: string[] = []) => answerFor(payment, outcome, refundsToIssue);
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
    case 'canceled': {
      if (payment.status !== 'PENDING') return result(`ignored: cancel, payment is ${payment.status}`);
      const held = heldMoney(payment);
      if (held !== null) {
        // A flagged payment given up with its order: the money it holds goes back, automatically.
        return refundHeldMoney(trx, order, payment, {
          received: held,
          intentId: payment.gateway_payment_intent_id,
          flaggedReason: null,
          why: order.status === 'CANCELLED' ? 'order_cancelled' : 'payment_cancelled',
          note: `${payment.id} flagged (${describeMoney(held.amount, held.currency)}), given up: ${fact.reason}`,
          ctx,
        });
      }
      await setPaymentStatus(trx, payment, 'CANCELED', { failure_reason: fact.reason }, at);
      return result(`PENDING -> CANCELED (${fact.reason})`);
    }
    case 'resolve':
      return resolveFlagged(trx, order, payment, fact, ctx);
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

// eslint-disable-next-line max-lines-per-function -- over 80 lines; to split (issue 14, point 5)
async function applyPaid(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: Extract<PaymentFact, { kind: 'paid' }>,
  ctx: ConfirmContext,
): Promise<ConfirmResult> {
  const { at, actor } = ctx;
  const result = (outcome: string, refundsToIssue: string[] = []) => answerFor(payment, outcome, refundsToIssue);
  const intentId = fact.paymentIntentId ?? payment.gateway_payment_intent_id;
  if (isCaptured(payment)) {
    if (payment.gateway_payment_intent_id === null && intentId !== null) {
      await repo.updatePayment(trx, payment.id, { gateway_payment_intent_id: intentId, updated_at: at });
    }
    return result(`duplicate: already ${payment.status}`);
  }
  if (payment.captured_amount !== null) {
    // Flagged (waiting for an admin) or late money already recorded, and refunded if it had to be.
    return result(`duplicate: money already recorded on the ${payment.status} payment`);
  }

  const expected = `${describeMoney(order.total_amount, order.currency)}`;
  const received = { amount: fact.amount, currency: fact.currency.toLowerCase() };
  const receivedText = describeMoney(received.amount, received.currency);
  const matches =
    received.amount === payment.amount &&
    received.currency === payment.currency &&
    payment.amount === order.total_amount &&
    payment.currency === order.currency;
  // Another payment of the order holds (or may receive) its money: this one can never become the order's.
  const other = payment.status === 'PENDING' ? undefined : await repo.findActivePayment(trx, order.id);
  const superseded = other !== undefined && other.id !== payment.id ? other : undefined;

  if (!matches) {
    const reason = `received ${receivedText}, expected ${expected}: not marked paid, an admin must review it`;
    if (payment.status === 'PENDING' && order.status === 'CREATED') {
      // Held for an admin, who accepts it as the order's payment or refunds it (POST /admin/payments/:id/resolve).
      await repo.updatePayment(trx, payment.id, {
        flagged_reason: payment.flagged_reason ?? reason,
        captured_amount: received.amount,
        captured_currency: received.currency,
        gateway_payment_intent_id: intentId,
        updated_at: at,
      });
      if (payment.flagged_reason === null) {
        await recordOrderEvent(trx, order, 'payment.flagged', actor, `${payment.id}: ${reason}`, at);
      }
      return result(`flagged: ${reason}`);
    }
    // Nobody could accept it any more (the order is closed, or the payment was given up): it goes back.
    const why =
      superseded !== undefined
        ? 'duplicate_payment'
        : order.status === 'CANCELLED'
          ? 'order_cancelled'
          : 'amount_mismatch';
    return refundHeldMoney(trx, order, payment, {
      received,
      intentId,
      flaggedReason: `received ${receivedText}, expected ${expected}: not marked paid, refunded automatically`,
      why,
      note: `${payment.id} (${payment.status}) received ${receivedText}, expected ${expected}, for a ${order.status} order`,
      ctx,
    });
  }

  if (superseded !== undefined) {
    // Money for a payment we had closed while another payment of the order is active. The partial unique
    // index keeps that one the order's only money-holding payment: this money is recorded and refunded.
    return refundHeldMoney(trx, order, payment, {
      received,
      intentId,
      flaggedReason: null,
      why: 'duplicate_payment',
      note: `${payment.id} (${payment.status}) received ${receivedText} while ${superseded.id} is ${superseded.status}`,
      ctx,
    });
  }
  return markPaid(
    trx,
    order,
    payment,
    intentId,
    ctx,
    payment.provider === 'manual' ? `confirmed by ${actor}` : 'confirmed by the gateway',
  );
}

/**
 * Money becomes the order's payment: SUCCEEDED, the order PAID if it is still CREATED; for an order closed
 * meanwhile (cancelled, or paid otherwise) it is refunded in full, automatically. Webhooks, reconciliation,
 * manual confirmation and an admin accepting flagged money all end here.
 */
async function markPaid(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  intentId: string | null,
  ctx: ConfirmContext,
  how: string,
): Promise<ConfirmResult> {
  const { at, actor } = ctx;
  const result = (outcome: string, refundsToIssue: string[] = []) => answerFor(payment, outcome, refundsToIssue);
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
      reason: `${payment.id} ${how}`,
      paymentStatus: settled.status,
    });
    return result(`${from} -> SUCCEEDED; order CREATED -> PAID`);
  }

  // The order was cancelled (or paid otherwise) before the money arrived: give it back, automatically.
  const received = describeMoney(payment.amount, payment.currency);
  const refund = await recordFullRefund(trx, order, settled, {
    reason: order.status === 'CANCELLED' ? 'order_cancelled' : 'duplicate_payment',
    initiatedBy: 'system',
    eventType: 'payment.auto_refund',
    actor,
    note: `${payment.id} received ${received} for a ${order.status} order; refunding in full`,
    at,
  });
  if (refund === undefined) return result(`${from} -> SUCCEEDED for a ${order.status} order; nothing left to refund`);
  return result(`${from} -> SUCCEEDED for a ${order.status} order; refund ${refund.id} issued`, [refund.id]);
}

/**
 * Money that will never be the order's payment (late money for a payment no longer the order's active one,
 * or mismatched money nobody can accept): recorded as held money on the payment, which stays closed (PENDING
 * becomes CANCELED) and so never a second money-holding payment of the order, and refunded in full.
 * The gateway is asked after commit; refund events then move the refund and the payment's `refunded`.
 */
async function refundHeldMoney(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  input: {
    received: { amount: number; currency: string };
    intentId: string | null;
    flaggedReason: string | null;
    why: string;
    note: string;
    ctx: ConfirmContext;
  },
): Promise<ConfirmResult> {
  const { at, actor } = input.ctx;
  const values = {
    captured_amount: input.received.amount,
    captured_currency: input.received.currency,
    gateway_payment_intent_id: input.intentId,
    ...(input.flaggedReason === null ? {} : { flagged_reason: input.flaggedReason }),
  };
  const held =
    payment.status === 'PENDING'
      ? await setPaymentStatus(trx, payment, 'CANCELED', { ...values, failure_reason: input.why }, at)
      : await repo.updatePayment(trx, payment.id, { ...values, updated_at: at });
  const refund = await recordFullRefund(trx, order, held, {
    reason: input.why,
    initiatedBy: 'system',
    eventType: 'payment.auto_refund',
    actor,
    note: `${input.note}; refunding in full (${input.why})`,
    at,
  });
  const moved = held.status === payment.status ? payment.status : `${payment.status} -> ${held.status}`;
  if (refund === undefined)
    return { outcome: `${moved}; money recorded, nothing to refund`, paymentId: payment.id, refundsToIssue: [] };
  return {
    outcome: `${moved}; ${describeMoney(input.received.amount, input.received.currency)} recorded and refunded as ${refund.id} (${input.why})`,
    paymentId: payment.id,
    refundsToIssue: [refund.id],
  };
}

/** An admin's decision on a flagged payment (see the `resolve` fact). Throws 409 when it cannot be taken. */
async function resolveFlagged(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: Extract<PaymentFact, { kind: 'resolve' }>,
  ctx: ConfirmContext,
): Promise<ConfirmResult> {
  const { at, actor } = ctx;
  const held = heldMoney(payment);
  if (!isFlagged(payment) || held === null) {
    throw conflict(
      'invalid_transition',
      `Payment ${payment.id} is not flagged for an admin (it is ${payment.status}).`,
      {
        status: payment.status,
      },
    );
  }
  const money = describeMoney(held.amount, held.currency);
  const why = fact.reason === null ? '' : `: ${fact.reason}`;
  if (fact.action === 'accept') {
    if (order.status !== 'CREATED') {
      throw conflict('invalid_transition', `The order is ${order.status}: the money can only be refunded.`, {
        status: order.status,
      });
    }
    if (held.currency !== order.currency) {
      throw conflict('invalid_transition', `The order is paid in ${order.currency}, not ${held.currency}: refund it.`, {
        status: order.status,
      });
    }
    await recordOrderEvent(trx, order, 'payment.flag_accepted', actor, `${payment.id}: ${money} accepted${why}`, at);
    const taken = await repo.updatePayment(trx, payment.id, {
      amount: held.amount,
      currency: held.currency,
      updated_at: at,
    });
    return markPaid(trx, order, taken, payment.gateway_payment_intent_id, ctx, `accepted by ${actor}`);
  }
  const closed = await setPaymentStatus(trx, payment, 'CANCELED', { failure_reason: 'flagged money refunded' }, at);
  const refund = await recordFullRefund(trx, order, closed, {
    reason: fact.reason ?? 'flagged_payment',
    initiatedBy: actor,
    eventType: 'payment.flag_refunded',
    actor,
    note: `${payment.id}: ${money} refunded in full${why}`,
    at,
  });
  if (refund === undefined)
    return { outcome: 'PENDING -> CANCELED; nothing to refund', paymentId: payment.id, refundsToIssue: [] };
  return {
    outcome: `PENDING -> CANCELED; flagged money refunded as ${refund.id}`,
    paymentId: payment.id,
    refundsToIssue: [refund.id],
  };
}
