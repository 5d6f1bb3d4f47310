import type { Executor } from '../../db/database.ts';
import { appendOutbox } from '../../db/outbox.ts';
import { appendOrderEvent, touchOrder, type OrderStatus } from '../orders/index.ts';
import type { PaymentStatusColumn } from '../../db/schema.ts';
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

/** Moves a locked payment and tells its owner (payment.updated), in the caller's transaction. */
export async function setPaymentStatus(
  trx: Executor,
  payment: PaymentRow,
  status: PaymentStatusColumn,
  values: Omit<Parameters<typeof repo.updatePayment>[2], 'status' | 'updated_at'>,
  at: Date,
): Promise<PaymentRow> {
  const updated = await repo.updatePayment(trx, payment.id, { ...values, status, updated_at: at });
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
