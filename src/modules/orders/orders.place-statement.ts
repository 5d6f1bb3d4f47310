import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { appendOutboxInline, type AppendOutboxInput } from '../../db/outbox.ts';
import { reserveStockInline, type PricedStockLine } from '../catalog/index.ts';
import type { OrderCustomer, OrderItemRow, OrderRow } from './orders.mapper.ts';

/** What placing an order reads first, in one statement: the lines' products and the customer. */
export interface OrderableProduct {
  id: string;
  sku: string;
  name: string;
  price_amount: number;
  currency: string;
  stock: number;
  active: boolean;
}

export async function readForOrder(
  db: Executor,
  userId: string,
  productIds: readonly string[],
): Promise<{ products: OrderableProduct[]; customer: OrderCustomer | null }> {
  const { rows } = await sql<OrderableProduct & { customer_email: string | null; customer_name: string | null }>`
    select p.id, p.sku, p.name, p.price_amount, p.currency, p.stock, p.active,
           u.email as customer_email, u.name as customer_name
    from products p left join users u on u.id = ${userId}::text
    where p.id = any(${[...productIds]}::text[])`.execute(db);
  const first = rows[0];
  const customer =
    first === undefined || first.customer_email === null || first.customer_name === null
      ? null
      : { email: first.customer_email, name: first.customer_name };
  return { products: rows.map(({ customer_email: _e, customer_name: _n, ...p }) => p), customer };
}

/** The messages with which the placement statement refuses itself (SQLSTATE P0001, `fulcrum_require`). */
export const LINES_CHANGED = 'order_lines_changed';

export interface OrderWrite {
  order: OrderRow;
  items: readonly OrderItemRow[];
  /** Every line with the product as it was read: the reservation holds only if they are unchanged. */
  lines: readonly PricedStockLine[];
  outbox: AppendOutboxInput;
  /** The idempotency key's update (one row while its lease holds), and the message to refuse with otherwise. */
  idempotency?: { update: RawBuilder<unknown>; refusal: string };
}

/**
 * Writes an order in one statement: stock for every line, the order, its lines, its first audit entry, its
 * outbox message and the idempotency key's answer. All of it or nothing: unless every line was reserved (and
 * the key's lease still holds) `fulcrum_require` raises and the statement — reservations included — is undone.
 * Product rows are locked only while this one statement runs.
 */
export async function writeOrder(db: Executor, w: OrderWrite): Promise<void> {
  const { order } = w;
  const idem = w.idempotency;
  const items = sql.join(
    w.items.map(
      (i) =>
        sql`(${i.line_no}::integer, ${i.product_id}::text, ${i.sku}::text, ${i.name}::text, ${i.quantity}::integer, ${i.unit_amount}::integer, ${i.line_total}::bigint)`,
    ),
  );
  const address = order.shipping_address === null ? null : JSON.stringify(order.shipping_address);
  await sql`
    with reserved as (${w.lines.length > 0 ? reserveStockInline(w.lines) : sql`select null::text as id where false`}),
    idem as (${idem === undefined ? sql`select 1 as done` : idem.update}),
    placed as (
      insert into orders (id, user_id, status, currency, total_amount, shipping_address, created_at, updated_at, expires_at)
      select ${order.id}::text, ${order.user_id}::text, 'CREATED', ${order.currency}::text, ${order.total_amount}::bigint,
             ${address}::jsonb, ${order.created_at}::timestamptz, ${order.updated_at}::timestamptz,
             ${order.expires_at}::timestamptz
      where fulcrum_require((select count(*) from reserved) = ${w.lines.length}, ${LINES_CHANGED}::text)
        and fulcrum_require((select count(*) from idem) = 1, ${idem?.refusal ?? ''}::text)
      returning id
    ),
    items as (
      insert into order_items (order_id, line_no, product_id, sku, name, quantity, unit_amount, line_total)
      select placed.id, v.* from placed, (values ${items}) as v(line_no, product_id, sku, name, quantity, unit_amount, line_total)
      returning 1
    ),
    first_event as (
      insert into order_events (order_id, seq, type, from_status, to_status, actor, reason, at)
      select placed.id, 1, 'order.created', null, 'CREATED', ${order.user_id}::text, null, ${order.created_at}::timestamptz
      from placed
      returning 1
    ),
    ${appendOutboxInline(w.outbox, 'placed')}
    select (select count(*) from items) as items`.execute(db);
}

/** The message of a `fulcrum_require` refusal, or undefined for any other error. */
export function refusalOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; message?: unknown };
  return e.code === 'P0001' && typeof e.message === 'string' ? e.message : undefined;
}

/** PostgreSQL's deadlock_detected: two statements locked the same rows in opposite orders; one may go again. */
export function isDeadlock(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '40P01';
}
