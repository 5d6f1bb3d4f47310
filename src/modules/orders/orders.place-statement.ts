import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { ExistingKey } from '../../http/idempotency.ts';
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

/** Everything placing an order reads first, in one statement. */
export interface OrderRead {
  products: OrderableProduct[];
  customer: OrderCustomer | null;
  /** The caller's account as the route's account check needs it; undefined: no such user. */
  account: { disabled_at: Date | null; deleted_at: Date | null } | undefined;
  /** The caller's Idempotency-Key as it stands, when one was asked for; undefined: there is none yet. */
  key: ExistingKey | undefined;
}

type ReadRow = Partial<OrderableProduct> & {
  user_id: string | null;
  disabled_at: Date | null;
  deleted_at: Date | null;
  customer_email: string | null;
  customer_name: string | null;
} & { [K in keyof ExistingKey as `key_${K}`]: ExistingKey[K] | null };

/**
 * The lines' products, the customer (name and e-mail for the answer; whether the account may act), and the
 * Idempotency-Key's row: one row per product found, at least one row whatever matched.
 */
export async function readForOrder(
  db: Executor,
  userId: string,
  productIds: readonly string[],
  idempotencyKey?: { scope: string; key: string },
): Promise<OrderRead> {
  const keyJoin =
    idempotencyKey === undefined
      ? sql`false`
      : sql`k.scope = ${idempotencyKey.scope}::text and k.key = ${idempotencyKey.key}::text`;
  const { rows } = await sql<ReadRow>`
    select p.id, p.sku, p.name, p.price_amount, p.currency, p.stock, p.active,
           u.id as user_id, u.disabled_at, u.deleted_at, u.email as customer_email, u.name as customer_name,
           k.method as key_method, k.route as key_route, k.fingerprint as key_fingerprint, k.state as key_state,
           k.response_status as key_response_status, k.response_body as key_response_body,
           k.locked_until as key_locked_until, k.lease_id as key_lease_id
    from (select 1) as one
    left join users u on u.id = ${userId}::text
    left join idempotency_keys k on ${keyJoin}
    left join products p on p.id = any(${[...productIds]}::text[])`.execute(db);
  const first = rows[0]!;
  const customer =
    first.customer_email === null || first.customer_name === null
      ? null
      : { email: first.customer_email, name: first.customer_name };
  const products = rows.flatMap((r): OrderableProduct[] =>
    r.id === undefined || r.id === null
      ? []
      : [
          {
            id: r.id,
            sku: r.sku!,
            name: r.name!,
            price_amount: r.price_amount!,
            currency: r.currency!,
            stock: r.stock!,
            active: r.active!,
          },
        ],
  );
  return {
    products,
    customer,
    account: first.user_id === null ? undefined : { disabled_at: first.disabled_at, deleted_at: first.deleted_at },
    key:
      first.key_state === null
        ? undefined
        : {
            method: first.key_method!,
            route: first.key_route!,
            fingerprint: first.key_fingerprint!,
            state: first.key_state,
            response_status: first.key_response_status,
            response_body: first.key_response_body,
            locked_until: first.key_locked_until,
            lease_id: first.key_lease_id,
          },
  };
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
