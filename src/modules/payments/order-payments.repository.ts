import type { Executor } from '../../db/database.ts';
import { waitsForAdminSql, type PaymentRow, type RefundRow } from './payments.repository.ts';

// Reads for the order detail (every payment of an order, with refunds) and the dashboard home (the flagged count).

/** Every payment of an order, oldest first (payments_order_created_idx). */
export async function paymentsOfOrder(db: Executor, orderId: string): Promise<PaymentRow[]> {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** How many payments wait for an admin (waitsForAdminSql): the dashboard's "flagged" count. */
export async function countWaitingForAdmin(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('payments')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(waitsForAdminSql)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The refunds of several payments, oldest first (refunds_payment_idx). */
export async function refundsOfPayments(db: Executor, paymentIds: readonly string[]): Promise<RefundRow[]> {
  if (paymentIds.length === 0) return [];
  return db
    .selectFrom('refunds')
    .selectAll()
    .where('payment_id', 'in', [...paymentIds])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
