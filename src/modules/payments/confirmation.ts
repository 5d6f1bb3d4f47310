import type { Executor } from '../../db/database.ts';
import { transitionOrder } from '../orders/index.ts';
import type { PaymentFact } from './facts.ts';
import { outcomeWithoutChange } from './no-change.ts';
import { markPaidAtOnce } from './paid-at-once.ts';
import { holdMismatchedMoney, refundHeldMoney, resolveFlagged } from './held-money.ts';
import type { ConfirmContext, ConfirmResult, PaymentOutcome } from './outcome.ts';
import { describeMoney, notifyPayment, setPaymentStatus } from './payment-events.ts';
import { capturedStatuses, heldMoney } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import type { PaymentReads } from './payment-reads.ts';
import { applyRefundFact, recomputeRefunds, recordRefund, refundOf } from './refund-facts.ts';

export type { ConfirmContext, ConfirmResult } from './outcome.ts';

/**
 * The confirmation's first read, without locks: what it decides alone — an unknown payment, or a fact that changes
 * nothing whatever runs meanwhile (no-change.ts: a repeated confirmation, …), neither writing anything — or else the
 * payment as read, for what comes next (markPaidAtOnce, the locked path). applyPaymentFact and the inbox worker's
 * quick path (gateway-event.ts) both start here.
 */
export async function decideOnFirstRead(
  db: Executor,
  fact: PaymentFact,
  reads?: PaymentReads,
): Promise<{ decided: ConfirmResult } | { found: PaymentRow }> {
  const found = await (reads === undefined ? repo.findPaymentByRef(db, fact.ref) : reads.find(db, fact.ref));
  if (found === undefined) {
    return { decided: { outcome: { kind: 'unknown_payment' }, paymentId: null, refundsToIssue: [] } };
  }
  const settled = outcomeWithoutChange(fact, found);
  if (settled !== undefined) return { decided: { outcome: settled, paymentId: found.id, refundsToIssue: [] } };
  return { found };
}

type Fact<K extends PaymentFact['kind']> = Extract<PaymentFact, { kind: K }>;

/**
 * THE confirmation path: webhooks (through the inbox worker), reconciliation, order expiry and the manual
 * provider all end here, inside the caller's transaction. Idempotent — applying a fact twice changes
 * nothing the second time — and safe in any order of arrival. Locks the order, then the payment (the
 * order of every payments transaction), so concurrent facts about one order queue behind each other.
 * A payment never goes SUCCEEDED → FAILED: a late failure is recorded in the outcome and ignored. A fact that can
 * change nothing (no-change.ts: a repeated confirmation, a decline for a paid payment) is decided on the first
 * read, without locks: one statement.
 * What it decided is a PaymentOutcome (outcome.ts), rendered to text only where it is stored.
 * `reads` (the inbox worker's chunk of events, payment-reads.ts) gives the first read and learns what was written.
 */
export async function applyPaymentFact(
  trx: Executor,
  fact: PaymentFact,
  ctx: ConfirmContext,
  reads?: PaymentReads,
): Promise<ConfirmResult> {
  const first = await decideOnFirstRead(trx, fact, reads);
  if ('decided' in first) return first.decided;
  const { found } = first;
  // The common confirmation (the money asked for, of a CREATED order) in one more statement; anything else, locked.
  if (fact.kind === 'paid') {
    const atOnce = await markPaidAtOnce(trx, found, fact, ctx);
    if (atOnce !== undefined) {
      reads?.wrote(atOnce.payment);
      return atOnce;
    }
  }
  reads?.forget(); // the locked path may write this payment and the order's others
  const order = await repo.lockOrderForPayment(trx, found.order_id);
  const payment = await repo.lockPayment(trx, found.id);
  if (order === undefined || payment === undefined) throw new Error(`payment ${found.id} lost its order`);
  const answer = (outcome: PaymentOutcome): ConfirmResult => ({ outcome, paymentId: payment.id, refundsToIssue: [] });

  switch (fact.kind) {
    case 'paid':
      return applyPaid(trx, order, payment, fact, ctx);
    case 'processing':
      return answer(await applyProcessing(trx, payment, fact, ctx.at));
    case 'declined':
      return answer(await applyDeclined(trx, payment, fact, ctx.at));
    case 'failed':
      if (payment.status === 'FAILED') return answer({ kind: 'duplicate', of: 'status', status: payment.status });
      if (payment.status !== 'PENDING') return answer({ kind: 'ignored', fact: 'failed', status: payment.status });
      await setPaymentStatus(trx, payment, 'FAILED', { failure_reason: fact.reason }, ctx.at);
      return answer({ kind: 'closed', to: 'FAILED' });
    case 'expired':
      if (payment.status === 'EXPIRED' || payment.status === 'CANCELED')
        return answer({ kind: 'duplicate', of: 'status', status: payment.status });
      if (payment.status !== 'PENDING') return answer({ kind: 'ignored', fact: 'expired', status: payment.status });
      await setPaymentStatus(trx, payment, 'EXPIRED', {}, ctx.at);
      return answer({ kind: 'closed', to: 'EXPIRED' });
    case 'canceled':
      return applyCanceled(trx, order, payment, fact, ctx);
    case 'resolve': {
      const decided = await resolveFlagged(trx, order, payment, fact, ctx);
      if (!('accepted' in decided)) return decided;
      const how = `accepted by ${ctx.actor}`;
      return markPaid(trx, order, decided.accepted, payment.gateway_payment_intent_id, ctx, how);
    }
    case 'open':
      return answer({ kind: 'open' });
    case 'refund':
      return answer(await applyRefundFact(trx, order, payment, fact.refund, ctx));
    case 'refund_total':
      return answer({
        kind: 'refund_total',
        reported: { amount: fact.amountRefunded, currency: fact.currency },
        here: { amount: payment.refunded_amount, currency: payment.currency },
      });
  }
}

/** Still PENDING (processing): the customer is told once, when the payment intent first appears. */
async function applyProcessing(
  trx: Executor,
  payment: PaymentRow,
  fact: Fact<'processing'>,
  at: Date,
): Promise<PaymentOutcome> {
  if (payment.status !== 'PENDING') return { kind: 'ignored', fact: 'processing', status: payment.status };
  if (fact.paymentIntentId === null || payment.gateway_payment_intent_id !== null) {
    return { kind: 'duplicate', of: 'processing' };
  }
  const updated = await repo.updatePayment(trx, payment.id, {
    gateway_payment_intent_id: fact.paymentIntentId,
    updated_at: at,
  });
  await notifyPayment(trx, updated, at);
  return { kind: 'processing' };
}

/** The checkout stays open and the customer may try another card: recorded, still PENDING. */
async function applyDeclined(
  trx: Executor,
  payment: PaymentRow,
  fact: Fact<'declined'>,
  at: Date,
): Promise<PaymentOutcome> {
  if (payment.status !== 'PENDING') return { kind: 'ignored', fact: 'declined', status: payment.status };
  if (payment.failure_reason === fact.reason) return { kind: 'duplicate', of: 'decline' };
  const updated = await repo.updatePayment(trx, payment.id, { failure_reason: fact.reason, updated_at: at });
  // Still PENDING, but its owner's page must hear of it (it reads why, and offers another card).
  await notifyPayment(trx, updated, at);
  return { kind: 'declined', reason: fact.reason };
}

/** Fulcrum gives the payment up; a flagged one's money goes back with it, automatically. */
async function applyCanceled(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: Fact<'canceled'>,
  ctx: ConfirmContext,
): Promise<ConfirmResult> {
  const answer = (outcome: PaymentOutcome): ConfirmResult => ({ outcome, paymentId: payment.id, refundsToIssue: [] });
  if (payment.status !== 'PENDING') return answer({ kind: 'ignored', fact: 'canceled', status: payment.status });
  const held = heldMoney(payment);
  if (held !== null) {
    return refundHeldMoney(trx, order, payment, {
      received: held,
      intentId: payment.gateway_payment_intent_id,
      flaggedReason: null,
      why: order.status === 'CANCELLED' ? 'order_cancelled' : 'payment_cancelled',
      note: `${payment.id} flagged (${describeMoney(held.amount, held.currency)}), given up: ${fact.reason}`,
      ctx,
    });
  }
  await setPaymentStatus(trx, payment, 'CANCELED', { failure_reason: fact.reason }, ctx.at);
  return answer({ kind: 'canceled', reason: fact.reason });
}

/**
 * Money captured at the gateway. Matching money for the order's active payment is the order's payment (markPaid);
 * mismatched money, or money for a payment another payment of the order has replaced, is held: flagged for an
 * admin or refunded at once (held-money.ts). A repeat changes nothing.
 */
async function applyPaid(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: Fact<'paid'>,
  ctx: ConfirmContext,
): Promise<ConfirmResult> {
  const answer = (outcome: PaymentOutcome): ConfirmResult => ({ outcome, paymentId: payment.id, refundsToIssue: [] });
  const intentId = fact.paymentIntentId ?? payment.gateway_payment_intent_id;
  if (capturedStatuses.includes(payment.status)) {
    if (payment.gateway_payment_intent_id === null && intentId !== null) {
      await repo.updatePayment(trx, payment.id, { gateway_payment_intent_id: intentId, updated_at: ctx.at });
    }
    return answer({ kind: 'duplicate', of: 'status', status: payment.status });
  }
  if (payment.captured_amount !== null) {
    // Flagged (waiting for an admin) or late money already recorded, and refunded if it had to be.
    return answer({ kind: 'duplicate', of: 'held_money', status: payment.status });
  }

  const received = { amount: fact.amount, currency: fact.currency.toLowerCase() };
  const matches =
    received.amount === payment.amount &&
    received.currency === payment.currency &&
    payment.amount === order.total_amount &&
    payment.currency === order.currency;
  // Another payment of the order holds (or may receive) its money: this one can never become the order's.
  const other = payment.status === 'PENDING' ? undefined : await repo.findActivePayment(trx, order.id);
  const superseded = other !== undefined && other.id !== payment.id ? other : undefined;

  if (!matches) {
    return holdMismatchedMoney(trx, order, payment, { received, intentId, superseded: superseded !== undefined, ctx });
  }
  if (superseded !== undefined) {
    // Money for a payment we had closed while another payment of the order is active. The partial unique
    // index keeps that one the order's only money-holding payment: this money is recorded and refunded.
    return refundHeldMoney(trx, order, payment, {
      received,
      intentId,
      flaggedReason: null,
      why: 'duplicate_payment',
      note: `${payment.id} (${payment.status}) received ${describeMoney(received.amount, received.currency)} while ${superseded.id} is ${superseded.status}`,
      ctx,
    });
  }
  const how = payment.provider === 'manual' ? `confirmed by ${ctx.actor}` : 'confirmed by the gateway';
  return markPaid(trx, order, payment, intentId, ctx, how);
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
  const from = payment.status;
  const answer = (outcome: ConfirmResult['outcome'], refundsToIssue: string[] = []): ConfirmResult => ({
    outcome,
    paymentId: payment.id,
    refundsToIssue,
  });
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
    return answer({ kind: 'paid', from });
  }

  // The order was cancelled (or paid otherwise) before the money arrived: give it back, automatically.
  const received = describeMoney(payment.amount, payment.currency);
  const refund = refundOf(
    await recordRefund(trx, order, settled, {
      reason: order.status === 'CANCELLED' ? 'order_cancelled' : 'duplicate_payment',
      initiatedBy: 'system',
      eventType: 'payment.auto_refund',
      actor,
      note: (r) => `${payment.id} received ${received} for a ${order.status} order; refunding in full as ${r.id}`,
      at,
    }),
  );
  const outcome = { kind: 'paid_closed_order', from, order: order.status, refundId: refund?.id ?? null } as const;
  return answer(outcome, refund === undefined ? [] : [refund.id]);
}
