import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { PARTIAL_INDEX } from '../../db/partial-index.ts';
import { newestFirst } from '../../db/keyset.ts';
import type { PaymentStatusColumn, PaymentsTable, RefundsTable } from '../../db/schema.ts';
import type { Cursor } from '../../shared/cursor.ts';
import type { PaymentRef } from './facts.ts';
import { activeStatuses, capturedStatuses } from './payment-status.ts';

export type PaymentRow = Selectable<PaymentsTable>;
export type RefundRow = Selectable<RefundsTable>;

export { activeStatuses, capturedStatuses };

const refundedOrUnderWay = sql<number>`coalesce((select sum(r.amount) from refunds r
  where r.payment_id = payments.id and r.status <> 'FAILED'), 0)`;

/**
 * Money the payment must give back that no refund is returning: a captured payment of a CANCELLED order, or
 * money held outside the order's payment (late, or mismatched and given up), beyond its refunds done or under
 * way. Fulcrum records the refund with the decision, so this is money whose refund the gateway failed: it
 * waits for an admin too (listed as flagged, counted by the gauge) until a refund of it is under way again.
 */
export const owesRefundSql = sql<boolean>`(
  (payments.status in ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED')
    and exists (select 1 from orders o where o.id = payments.order_id and o.status = 'CANCELLED')
    and payments.amount > ${refundedOrUnderWay})
  or (payments.status in ('FAILED', 'EXPIRED', 'CANCELED') and payments.captured_amount is not null
    and payments.captured_amount > ${refundedOrUnderWay}))`;

/** Everything that waits for an admin: flagged money (isFlagged) and money owed back (owesRefundSql). */
export const waitsForAdminSql = sql<boolean>`((payments.status = 'PENDING' and payments.flagged_reason is not null)
  or ${owesRefundSql})`;

export async function insertPayment(trx: Executor, values: Insertable<PaymentsTable>): Promise<PaymentRow> {
  return trx.insertInto('payments').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findPayment(db: Executor, id: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function lockPayment(trx: Executor, id: string): Promise<PaymentRow | undefined> {
  return trx.selectFrom('payments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** The payment a gateway fact is about: by our id, else the session, else the payment intent. */
export async function findPaymentByRef(db: Executor, ref: PaymentRef): Promise<PaymentRow | undefined> {
  if (ref.paymentId !== null) {
    const byId = await findPayment(db, ref.paymentId);
    // A session id that contradicts the stored one means the metadata is not ours to trust.
    if (
      byId !== undefined &&
      (ref.sessionId === null || byId.gateway_session_id === null || byId.gateway_session_id === ref.sessionId)
    ) {
      return byId;
    }
  }
  if (ref.sessionId !== null) {
    const bySession = await db
      .selectFrom('payments')
      .selectAll()
      .where('gateway_session_id', '=', ref.sessionId)
      .executeTakeFirst();
    if (bySession !== undefined) return bySession;
  }
  if (ref.paymentIntentId !== null) {
    return db
      .selectFrom('payments')
      .selectAll()
      .where('gateway_payment_intent_id', '=', ref.paymentIntentId)
      .executeTakeFirst();
  }
  return undefined;
}

/** The order's payment that holds or may hold money (at most one, by the partial unique index). */
export async function findActivePayment(db: Executor, orderId: string): Promise<PaymentRow | undefined> {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('order_id', '=', orderId)
    .where('status', 'in', [...activeStatuses])
    .executeTakeFirst();
}

/** The payment to show for each order: the active one, else the newest. */
export async function currentPayments(db: Executor, orderIds: readonly string[]): Promise<PaymentRow[]> {
  if (orderIds.length === 0) return [];
  return db
    .selectFrom('payments')
    .selectAll()
    .distinctOn('order_id')
    .where('order_id', 'in', [...orderIds])
    .orderBy('order_id')
    .orderBy((eb) =>
      eb
        .case()
        .when('status', 'in', [...activeStatuses])
        .then(0)
        .else(1)
        .end(),
    )
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

/** Columns other than the status (a status is written only by updatePaymentFrom, guarded by the one it moves from). */
export async function updatePayment(
  trx: Executor,
  id: string,
  values: Omit<Updateable<PaymentsTable>, 'status'>,
): Promise<PaymentRow> {
  return trx.updateTable('payments').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/**
 * `UPDATE payments … WHERE id = $id AND status = $from`: the status (and anything else) written only while the row
 * is still `from`. Undefined when it is not (a lost race): the caller decides what that means.
 */
export async function updatePaymentFrom(
  trx: Executor,
  id: string,
  from: PaymentStatusColumn,
  values: Updateable<PaymentsTable>,
): Promise<PaymentRow | undefined> {
  return trx
    .updateTable('payments')
    .set(values)
    .where('id', '=', id)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirst();
}

/** PENDING stripe payments due for a look-up at the gateway (not flagged: those wait for an admin). */
export async function duePendingPayments(db: Executor, olderThan: Date, limit: number): Promise<PaymentRow[]> {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('status', '=', PARTIAL_INDEX.PENDING)
    .where('created_at', '<=', olderThan)
    .where('flagged_reason', 'is', null)
    .where((eb) => eb.or([eb('reconciled_at', 'is', null), eb('reconciled_at', '<=', olderThan)]))
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** A payment row with whether it owes money back (owesRefundSql). */
export type ListedPaymentRow = PaymentRow & { owes_refund: boolean };

/** GET /admin/payments: newest first; `flagged` true is what waits for an admin (waitsForAdminSql). */
export async function listPayments(
  db: Executor,
  options: {
    flagged?: boolean | undefined;
    status?: PaymentStatusColumn | undefined;
    after?: Cursor | undefined;
    limit: number;
  },
): Promise<ListedPaymentRow[]> {
  let query = db.selectFrom('payments').selectAll().select(owesRefundSql.as('owes_refund'));
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  if (options.flagged === true) query = query.where(waitsForAdminSql);
  else if (options.flagged === false) query = query.where(sql<boolean>`not ${waitsForAdminSql}`);
  return newestFirst(query, { at: 'created_at', after: options.after, limit: options.limit }).execute();
}

// --- refunds ---

export async function insertRefund(trx: Executor, values: Insertable<RefundsTable>): Promise<RefundRow> {
  return trx.insertInto('refunds').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findRefund(db: Executor, id: string): Promise<RefundRow | undefined> {
  return db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function refundsOf(db: Executor, paymentId: string): Promise<RefundRow[]> {
  return db
    .selectFrom('refunds')
    .selectAll()
    .where('payment_id', '=', paymentId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** The refund a gateway refund fact is about: by the gateway's id, else by ours (set in the gateway's metadata). */
export async function findRefundForFact(
  trx: Executor,
  paymentId: string,
  gatewayRefundId: string | null,
  refundId: string | null,
): Promise<RefundRow | undefined> {
  if (gatewayRefundId !== null) {
    const row = await trx
      .selectFrom('refunds')
      .selectAll()
      .where('gateway_refund_id', '=', gatewayRefundId)
      .executeTakeFirst();
    if (row !== undefined) return row;
  }
  if (refundId === null) return undefined;
  return trx
    .selectFrom('refunds')
    .selectAll()
    .where('id', '=', refundId)
    .where('payment_id', '=', paymentId)
    .executeTakeFirst();
}

export async function updateRefund(trx: Executor, id: string, values: Updateable<RefundsTable>): Promise<RefundRow> {
  return trx.updateTable('refunds').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Refunds the gateway has not finished (or not even been asked about), oldest first. */
export async function pendingRefunds(db: Executor, olderThan: Date, limit: number): Promise<RefundRow[]> {
  return db
    .selectFrom('refunds')
    .selectAll()
    .where('status', '=', PARTIAL_INDEX.PENDING)
    .where('created_at', '<=', olderThan)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

// --- the order as payments sees it (status changes go through the orders module) ---

export interface OrderForPayment {
  id: string;
  user_id: string;
  status: 'CREATED' | 'PAID' | 'SHIPPED' | 'DELIVERED' | 'CANCELLED';
  currency: string;
  total_amount: number;
  refunded_amount: number;
  expires_at: Date;
  version: number;
}

const orderColumns = [
  'id',
  'user_id',
  'status',
  'currency',
  'total_amount',
  'refunded_amount',
  'expires_at',
  'version',
] as const;

export async function lockOrderForPayment(trx: Executor, orderId: string): Promise<OrderForPayment | undefined> {
  return trx.selectFrom('orders').select(orderColumns).where('id', '=', orderId).forUpdate().executeTakeFirst();
}

/** Share lock: a cancel waits until the checkout's payment row is committed, and then sees it. */
export async function shareLockOrder(trx: Executor, orderId: string): Promise<OrderForPayment | undefined> {
  return trx.selectFrom('orders').select(orderColumns).where('id', '=', orderId).forShare().executeTakeFirst();
}

export async function findOrderForPayment(db: Executor, orderId: string): Promise<OrderForPayment | undefined> {
  return db.selectFrom('orders').select(orderColumns).where('id', '=', orderId).executeTakeFirst();
}

export async function orderLines(
  db: Executor,
  orderId: string,
): Promise<{ name: string; quantity: number; unit_amount: number; line_total: number }[]> {
  return db
    .selectFrom('order_items')
    .select(['name', 'quantity', 'unit_amount', 'line_total'])
    .where('order_id', '=', orderId)
    .orderBy('line_no')
    .execute();
}

/** `order.refunded` follows the payment's succeeded refunds. */
export async function setOrderRefunded(trx: Executor, orderId: string, amount: number, at: Date): Promise<void> {
  await trx.updateTable('orders').set({ refunded_amount: amount, updated_at: at }).where('id', '=', orderId).execute();
}

export async function emailOf(db: Executor, userId: string): Promise<string | null> {
  const row = await db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
  return row?.email ?? null;
}
