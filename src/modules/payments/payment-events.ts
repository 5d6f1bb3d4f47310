import type { Executor } from '../../db/database.ts';
import { appendOutbox } from '../../db/outbox.ts';
import { appendOrderEvent, touchOrder, type OrderStatus } from '../orders/index.ts';
import type { PaymentStatusColumn } from '../../db/schema.ts';
import { conflict } from '../../shared/errors.ts';
import { transitionPayment } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import type { PaymentRow } from './payments.repository.ts';

/** Audit-trail entries payments writes on an order (the order's status is unchanged by them; its version goes up). */
export type PaymentOrderEvent =
  | 'payment.flagged'
  | 'payment.flag_accepted'
  | 'payment.flag_refunded'
  | 'payment.auto_refund'
  | 'refund.requested'
  | 'refund.succeeded'
  | 'refund.failed';

export async function recordOrderEvent(
  trx: Executor,
  order: { id: string; status: OrderStatus },
  type: PaymentOrderEvent,
  actor: string,
  reason: string,
  at: Date,
): Promise<void> {
  await appendOrderEvent(trx, { orderId: order.id, type, from: order.status, to: order.status, actor, reason, at });
  // The order changed for whoever looks at it (a refund requested, money flagged): its version goes up.
  await touchOrder(trx, order.id);
}

/**
 * The one status UPDATE of a payment: the move `payment.status` → `to` checked against the table
 * (paymentTransitions; staying put is no move and always allowed), then written guarded by the status it moves from
 * (`WHERE status = <from>`, updatePaymentFrom). Every caller holds the payment's row lock (lockPayment), so a row no
 * longer in that status means it was changed outside the lock: a lost race. Both a refused move and a lost race are
 * `409 invalid_transition`: nothing is written, the caller's transaction rolls back whole, and a fact from the inbox
 * worker or reconciliation is applied again, later, to what is there then.
 */
export async function movePayment(
  trx: Executor,
  payment: PaymentRow,
  to: PaymentStatusColumn,
  values: Omit<Parameters<typeof repo.updatePayment>[2], 'updated_at'> & { updated_at: Date },
): Promise<PaymentRow> {
  const from = payment.status;
  if (from !== to && !transitionPayment(from, to).ok) {
    throw conflict('invalid_transition', `Payment ${payment.id} cannot go from ${from} to ${to}.`, { status: from });
  }
  const updated = await repo.updatePaymentFrom(trx, payment.id, from, { ...values, status: to });
  if (updated === undefined) {
    throw conflict(
      'invalid_transition',
      `Payment ${payment.id} changed while this ran (it is no longer ${from}); nothing was changed.`,
      { status: from },
    );
  }
  return updated;
}

/** Moves a locked payment (movePayment) and tells its owner (payment.updated), in the caller's transaction. */
export async function setPaymentStatus(
  trx: Executor,
  payment: PaymentRow,
  status: PaymentStatusColumn,
  values: Omit<Parameters<typeof repo.updatePayment>[2], 'updated_at'>,
  at: Date,
): Promise<PaymentRow> {
  const updated = await movePayment(trx, payment, status, { ...values, updated_at: at });
  await notifyPayment(trx, updated, at);
  return updated;
}

export async function notifyPayment(trx: Executor, payment: PaymentRow, at: Date): Promise<void> {
  await appendOutbox(trx, {
    userId: payment.user_id,
    type: 'payment.updated',
    payload: { paymentId: payment.id, orderId: payment.order_id, status: payment.status, at: at.toISOString() },
  });
}

export function describeMoney(amount: number, currency: string): string {
  return `${amount} ${currency}`;
}
