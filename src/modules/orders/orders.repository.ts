import { sql, type Insertable, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { PARTIAL_INDEX } from '../../db/partial-index.ts';
import { newestFirst, type Page } from '../../db/keyset.ts';
import type { OrderItemsTable, OrdersTable } from '../../db/schema.ts';
import { pageOf, type Cursor } from '../../shared/cursor.ts';
import type { OrderCustomer, OrderEventRow, OrderItemRow, OrderRow } from './orders.mapper.ts';
import type { OrderStatus } from './order-status.ts';

/** Inserts the order and reads its customer in the same statement (placing an order costs no extra round trip). */
export async function insertOrder(
  trx: Executor,
  values: Insertable<OrdersTable>,
): Promise<{ order: OrderRow; customer: OrderCustomer | null }> {
  const { customer_email, customer_name, ...order } = await trx
    .insertInto('orders')
    .values(values)
    .returningAll()
    .returning((eb) => [
      eb.selectFrom('users').select('email').whereRef('users.id', '=', 'orders.user_id').as('customer_email'),
      eb.selectFrom('users').select('name').whereRef('users.id', '=', 'orders.user_id').as('customer_name'),
    ])
    .executeTakeFirstOrThrow();
  return {
    order,
    customer: customer_email === null || customer_name === null ? null : { email: customer_email, name: customer_name },
  };
}

/** All lines in one statement. */
export async function insertItems(trx: Executor, items: Insertable<OrderItemsTable>[]): Promise<OrderItemRow[]> {
  return trx.insertInto('order_items').values(items).returningAll().execute();
}

export async function findOrder(db: Executor, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Row lock for the rest of the transaction: transitions of one order queue behind each other. */
export async function lockOrder(trx: Executor, id: string): Promise<OrderRow | undefined> {
  return trx.selectFrom('orders').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** The lines of several orders at once (one query per page, not per order). */
export async function itemsOf(db: Executor, orderIds: readonly string[]): Promise<OrderItemRow[]> {
  if (orderIds.length === 0) return [];
  return db
    .selectFrom('order_items')
    .selectAll()
    .where('order_id', 'in', [...orderIds])
    .orderBy('order_id')
    .orderBy('line_no')
    .execute();
}

/** The e-mail and name of each of these accounts (one query per page). */
export async function customersOf(db: Executor, userIds: readonly string[]): Promise<Map<string, OrderCustomer>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .select(['id', 'email', 'name'])
    .where('id', 'in', [...new Set(userIds)])
    .execute();
  return new Map(rows.map((r) => [r.id, { email: r.email, name: r.name }]));
}

/** The account with this e-mail, if any; `email` already in lower case (users_email_key is on lower(email)). */
export async function userIdByEmail(db: Executor, email: string): Promise<string | undefined> {
  const row = await userIdByEmailQuery(db, email).executeTakeFirst();
  return row?.id;
}

/** The lookup itself, so a test can ask the planner for users_email_key. */
export function userIdByEmailQuery(db: Executor, email: string) {
  return db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email));
}

/** Newest first, a page (newestFirst, pageOf); each filter combination has an index leading with its column. */
export interface ListOrdersOptions {
  userId?: string | undefined;
  status?: OrderStatus | undefined;
  /** Placed at or after / before (exclusive): a range on created_at, which every list index ends with. */
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
  after?: Cursor | undefined;
  limit: number;
}

export async function listOrders(db: Executor, options: ListOrdersOptions): Promise<Page<OrderRow>> {
  return pageOf(await listOrdersQuery(db, options).execute(), options.limit);
}

/** The list query itself, so a test can ask the planner which index serves each filter. */
export function listOrdersQuery(db: Executor, options: ListOrdersOptions) {
  let query = db.selectFrom('orders').selectAll();
  if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  if (options.createdFrom !== undefined) query = query.where('created_at', '>=', options.createdFrom);
  if (options.createdTo !== undefined) query = query.where('created_at', '<', options.createdTo);
  return newestFirst(query, { at: 'created_at', after: options.after, limit: options.limit });
}

export async function eventsOf(db: Executor, orderId: string): Promise<OrderEventRow[]> {
  return db.selectFrom('order_events').selectAll().where('order_id', '=', orderId).orderBy('seq').execute();
}

/**
 * The only way an order's status changes: guarded by the status and version the caller decided from, so a
 * caller that lost a race gets undefined instead of overwriting the winner (the version trigger adds one).
 */
export async function updateOrderStatus(
  trx: Executor,
  id: string,
  from: OrderStatus,
  values: Updateable<OrdersTable> & { status: OrderStatus },
  version?: number,
): Promise<OrderRow | undefined> {
  let query = trx.updateTable('orders').set(values).where('id', '=', id).where('status', '=', from);
  if (version !== undefined) query = query.where('version', '=', version);
  return query.returningAll().executeTakeFirst();
}

export interface NewOrderEvent {
  orderId: string;
  type: string;
  from: OrderStatus | null;
  to: OrderStatus;
  actor: string;
  reason: string | null;
  at: Date;
}

/** Next seq of the order; callers hold the order's row lock (or created it), so seqs never collide. */
export async function appendOrderEvent(trx: Executor, event: NewOrderEvent): Promise<void> {
  await sql`
    insert into order_events (order_id, seq, type, from_status, to_status, actor, reason, at)
    select ${event.orderId}::text, coalesce(max(seq), 0) + 1, ${event.type}::text, ${event.from}::text,
           ${event.to}::text, ${event.actor}::text, ${event.reason}::text, ${event.at}::timestamptz
    from order_events where order_id = ${event.orderId}::text`.execute(trx);
}

/** Marks the reservation as given back; false when it already was (so stock is released once). */
export async function markStockReleased(trx: Executor, orderId: string, at: Date): Promise<boolean> {
  const row = await trx
    .updateTable('orders')
    .set({ stock_released_at: at })
    .where('id', '=', orderId)
    .where('stock_released_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Reserved quantity per product of an order, in product id order. */
export async function reservedLines(
  trx: Executor,
  orderId: string,
): Promise<{ productId: string; quantity: number }[]> {
  const rows = await trx
    .selectFrom('order_items')
    .select(['product_id', (eb) => eb.fn.sum<number>('quantity').as('quantity')])
    .where('order_id', '=', orderId)
    .groupBy('product_id')
    .orderBy('product_id')
    .execute();
  return rows.map((r) => ({ productId: r.product_id, quantity: Number(r.quantity) }));
}

/**
 * Locks every product of these orders in id order, as placing an order does. A transaction that releases
 * the stock of several orders takes these locks first, so it never holds one product while waiting for
 * another that an order being placed holds (no deadlock between expiry and checkout traffic).
 */
export async function lockProductsOfOrders(trx: Executor, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await trx
    .selectFrom('products')
    .select('id')
    .where(
      'id',
      'in',
      trx
        .selectFrom('order_items')
        .select('product_id')
        .where('order_id', 'in', [...orderIds]),
    )
    .orderBy('id')
    .forUpdate()
    .execute();
}

/**
 * Claims unpaid orders past their expiry for this transaction. SKIP LOCKED: two expiry runs at once
 * take disjoint batches instead of waiting on each other's rows.
 */
export async function claimExpiredOrders(
  trx: Executor,
  now: Date,
  limit: number,
  only?: readonly string[],
  except: readonly string[] = [],
): Promise<string[]> {
  if (only !== undefined && only.length === 0) return [];
  let query = trx
    .selectFrom('orders')
    .select('id')
    .where('status', '=', PARTIAL_INDEX.created)
    .where('expires_at', '<=', now);
  if (only !== undefined) query = query.where('id', 'in', [...only]);
  if (except.length > 0) query = query.where('id', 'not in', [...except]);
  const rows = await query.orderBy('expires_at').limit(limit).forUpdate().skipLocked().execute();
  return rows.map((r) => r.id);
}

/**
 * Records that something about the order changed without its own columns changing (a refund recorded, a
 * payment flagged): the version trigger increases its version, so a client holding the old one gets 412.
 */
export async function touchOrder(trx: Executor, orderId: string): Promise<void> {
  await sql`update orders set version = version where id = ${orderId}`.execute(trx);
}
