import type { Executor } from '../../db/database.ts';
import type { RefundStatusColumn } from '../../db/schema.ts';
import { newId } from '../../shared/ids.ts';
import type { RefundFact } from './facts.ts';
import {
  describeMoney,
  movePayment,
  notifyPayment,
  recordOrderEvent,
  type PaymentOrderEvent,
} from './payment-events.ts';
import type { PaymentOutcome, RefundChange } from './outcome.ts';
import { capturedStatuses, heldMoney } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow, RefundRow } from './payments.repository.ts';

// How far a refund has got: events may arrive in any order, a refund only moves forward.
// (SUCCEEDED → FAILED is forward: Stripe can fail a refund after reporting it succeeded.)
const rank: Record<RefundStatusColumn, number> = { PENDING: 0, SUCCEEDED: 1, FAILED: 2 };

/** What the payment captured: its amount once paid; held money (flagged, late) once closed; else nothing. */
function capturedAmount(payment: PaymentRow): number {
  if (capturedStatuses.includes(payment.status)) return payment.amount;
  // A flagged payment still waiting for an admin is settled by the resolve action, not by a plain refund.
  if (payment.status === 'PENDING') return 0;
  return heldMoney(payment)?.amount ?? 0;
}

/** What can still be refunded: the captured amount less refunds succeeded or under way. */
export async function refundableAmount(trx: Executor, payment: PaymentRow): Promise<number> {
  const captured = capturedAmount(payment);
  if (captured === 0) return 0;
  const refunds = await repo.refundsOf(trx, payment.id);
  const committed = refunds.filter((r) => r.status !== 'FAILED').reduce((sum, r) => sum + r.amount, 0);
  return captured - committed;
}

/** The currency refunds of this payment are made in: the held money's, else the payment's. */
export function refundCurrency(payment: PaymentRow): string {
  return heldMoney(payment)?.currency ?? payment.currency;
}

/** A refund to record: how much, why, who asked, and the order event that tells the order's history. */
export interface RefundToRecord {
  /** Minor units; default: everything still refundable. */
  amount?: number | undefined;
  reason: string | null;
  /** `initiated_by`: `system`, or the admin's id. */
  initiatedBy: string;
  eventType: PaymentOrderEvent;
  actor: string;
  /** The order event's text, given the refund recorded. */
  note: (refund: RefundRow) => string;
  at: Date;
}

/** What recording a refund gave: the refund, or what can still be refunded when `amount` is more (or nothing). */
export type RecordedRefund = { refund: RefundRow } | { refundable: number };

/**
 * The one place Fulcrum records a refund it will ask of the gateway (an admin's, a paid order's cancel, money
 * given back automatically or by an admin): a PENDING refund of `amount` (default: all that is left) in the
 * refunds' currency, and an order event saying why. The caller holds the order and payment row locks, so two
 * refunds at once can never exceed what was captured, and asks the gateway after commit (issueRefund;
 * reconciliation if that fails). `{ refundable }` when `amount` is not within what is left, or nothing is.
 */
export async function recordRefund(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  input: RefundToRecord,
): Promise<RecordedRefund> {
  const left = await refundableAmount(trx, payment);
  const amount = input.amount ?? left;
  if (amount <= 0 || amount > left) return { refundable: left };
  const refund = await repo.insertRefund(trx, {
    id: newId('ref'),
    payment_id: payment.id,
    amount,
    currency: refundCurrency(payment),
    status: 'PENDING',
    reason: input.reason,
    initiated_by: input.initiatedBy,
    created_at: input.at,
    updated_at: input.at,
  });
  await recordOrderEvent(trx, order, input.eventType, input.actor, input.note(refund), input.at);
  return { refund };
}

/** The refund recorded in full, or undefined when nothing was left to refund. */
export function refundOf(recorded: RecordedRefund): RefundRow | undefined {
  return 'refund' in recorded ? recorded.refund : undefined;
}

/**
 * The payment's refunded amount and status, and the order's `refunded`, from its succeeded refunds.
 * Only a payment that captured money moves (SUCCEEDED ⇄ PARTIALLY_REFUNDED ⇄ REFUNDED).
 */
export async function recomputeRefunds(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  at: Date,
  options: { notify: boolean } = { notify: true },
): Promise<PaymentRow> {
  const held = heldMoney(payment);
  if (held !== null) {
    // Money that was never the order's payment: the payment keeps its status (it must not become a second
    // money-holding payment of the order) and the order's `refunded` is not its business; only the amount moves.
    const succeeded = (await repo.refundsOf(trx, payment.id)).filter((r) => r.status === 'SUCCEEDED');
    const refunded = Math.min(
      held.amount,
      succeeded.reduce((sum, r) => sum + r.amount, 0),
    );
    if (refunded === payment.refunded_amount) return payment;
    return repo.updatePayment(trx, payment.id, { refunded_amount: refunded, updated_at: at });
  }
  if (!capturedStatuses.includes(payment.status)) return payment;
  const refunds = await repo.refundsOf(trx, payment.id);
  const refunded = Math.min(
    payment.amount,
    refunds.filter((r) => r.status === 'SUCCEEDED').reduce((sum, r) => sum + r.amount, 0),
  );
  const status = refunded === 0 ? 'SUCCEEDED' : refunded >= payment.amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  if (refunded === payment.refunded_amount && status === payment.status) return payment;
  const updated = await movePayment(trx, payment, status, { refunded_amount: refunded, updated_at: at });
  if (refunded !== order.refunded_amount) {
    await repo.setOrderRefunded(trx, order.id, Math.min(refunded, order.total_amount), at);
  }
  // Told on every change of the refunded amount, not only of the status: a second partial refund leaves the
  // status PARTIALLY_REFUNDED, and its owner (socket, refund mail) must still hear of it.
  if (options.notify) await notifyPayment(trx, updated, at);
  return updated;
}

/** A refund's state from the gateway (event, look-up, or the answer to our create call). */
export async function applyRefundFact(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: RefundFact,
  ctx: { at: Date; actor: string },
): Promise<PaymentOutcome> {
  const { at, actor } = ctx;
  const existing = await repo.findRefundForFact(trx, payment.id, fact.gatewayRefundId, fact.refundId);
  let change: RefundChange;
  if (existing === undefined) {
    // A refund made outside Fulcrum (the gateway's dashboard): recorded so the totals stay true.
    const row = await repo.insertRefund(trx, {
      id: newId('ref'),
      payment_id: payment.id,
      gateway_refund_id: fact.gatewayRefundId,
      amount: fact.amount,
      currency: fact.currency,
      status: fact.status,
      reason: fact.reason,
      failure_reason: fact.failureReason,
      initiated_by: 'gateway',
      created_at: at,
      updated_at: at,
    });
    change = { kind: 'recorded', refundId: row.id, status: row.status };
    if (row.status !== 'PENDING') await auditRefund(trx, order, row.id, row.status, row.amount, fact, actor, at);
  } else {
    const forward = rank[fact.status] > rank[existing.status];
    const needsId = existing.gateway_refund_id === null && fact.gatewayRefundId !== null;
    if (!forward && !needsId) {
      return { kind: 'duplicate', of: 'refund', refundId: existing.id, status: existing.status };
    }
    await repo.updateRefund(trx, existing.id, {
      ...(needsId ? { gateway_refund_id: fact.gatewayRefundId } : {}),
      ...(forward ? { status: fact.status, failure_reason: fact.failureReason } : {}),
      updated_at: at,
    });
    change = forward
      ? { kind: 'moved', refundId: existing.id, from: existing.status, to: fact.status }
      : { kind: 'linked', refundId: existing.id };
    if (forward) await auditRefund(trx, order, existing.id, fact.status, existing.amount, fact, actor, at);
  }
  const updated = await recomputeRefunds(trx, order, payment, at);
  const failed = fact.status === 'FAILED' && (existing === undefined || rank[existing.status] < rank.FAILED);
  let flagged = false;
  if (failed) {
    const refundId = existing?.id ?? fact.gatewayRefundId ?? 'from the gateway';
    flagged = await flagMoneyNotReturned(trx, order, updated, refundId, fact.failureReason, actor, at);
  }
  const moved = updated.status === payment.status ? null : { from: payment.status, to: updated.status };
  return { kind: 'refund', change, flagged, payment: moved };
}

/**
 * A refund failed. When it was giving back money the shop must not keep — the order is CANCELLED, or the money
 * was never the order's payment (held) — and no other refund returns it, the payment is flagged for an admin:
 * `flagged_reason` says what is owed, an order event `payment.flagged` records it, and the admin list and gauge
 * show it (owesRefundSql) until a refund of it is under way again (`POST /admin/payments/:id/refunds`).
 * Returns whether it flagged. The caller holds the order and payment locks.
 */
export async function flagMoneyNotReturned(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  refundId: string,
  why: string | null,
  actor: string,
  at: Date,
): Promise<boolean> {
  if (order.status !== 'CANCELLED' && heldMoney(payment) === null) return false;
  const owed = await refundableAmount(trx, payment);
  if (owed <= 0) return false;
  const reason = `refund ${refundId} failed (${why ?? 'no reason given'}): ${describeMoney(owed, refundCurrency(payment))} must still go back to the customer; refund it again or return it another way`;
  await repo.updatePayment(trx, payment.id, { flagged_reason: reason, updated_at: at });
  await recordOrderEvent(trx, order, 'payment.flagged', actor, `${payment.id}: ${reason}`, at);
  return true;
}

async function auditRefund(
  trx: Executor,
  order: OrderForPayment,
  refundId: string,
  status: RefundStatusColumn,
  amount: number,
  fact: RefundFact,
  actor: string,
  at: Date,
): Promise<void> {
  if (status === 'PENDING') return;
  const what = `${refundId} ${describeMoney(amount, fact.currency)}`;
  if (status === 'SUCCEEDED') await recordOrderEvent(trx, order, 'refund.succeeded', actor, what, at);
  else await recordOrderEvent(trx, order, 'refund.failed', actor, `${what}: ${fact.failureReason ?? 'failed'}`, at);
}
