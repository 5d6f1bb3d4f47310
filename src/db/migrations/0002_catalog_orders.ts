import { sql, type Kysely } from 'kysely';

// Catalog, orders (items, audit events), idempotency keys and the transactional outbox.
// Every list and lookup the code runs has an index below; the comment on each says which query.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table products (
      id text primary key,
      sku text not null,
      name text not null,
      description text,
      price_amount integer not null check (price_amount >= 0),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      stock integer not null check (stock >= 0),
      active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  // sku_taken is detected by this index (23505), never by a read first.
  await sql`create unique index products_sku_key on products (sku)`.execute(db);
  // Admin list (every product), newest first.
  await sql`create index products_created_idx on products (created_at desc, id desc)`.execute(db);
  // Public list: active products only, newest first.
  await sql`create index products_active_created_idx on products (created_at desc, id desc) where active`.execute(db);

  await sql`
    create table orders (
      id text primary key,
      user_id text not null references users (id),
      status text not null check (status in ('CREATED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED')),
      currency text not null,
      total_amount bigint not null check (total_amount >= 0),
      refunded_amount bigint not null default 0 check (refunded_amount >= 0 and refunded_amount <= total_amount),
      shipping_address jsonb,
      carrier text,
      tracking_number text,
      shipped_at timestamptz,
      delivered_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      expires_at timestamptz not null,
      paid_at timestamptz,
      cancelled_at timestamptz,
      cancellation_reason text,
      -- Set once when the reserved units go back to the shelf: releasing twice is impossible.
      stock_released_at timestamptz
    )`.execute(db);
  // A customer's orders, newest first (cursor on created_at, id).
  await sql`create index orders_user_created_idx on orders (user_id, created_at desc, id desc)`.execute(db);
  // Staff list filtered by status.
  await sql`create index orders_status_created_idx on orders (status, created_at desc, id desc)`.execute(db);
  // Staff list of everything.
  await sql`create index orders_created_idx on orders (created_at desc, id desc)`.execute(db);
  // Expiry job: only unpaid orders are candidates, so the index stays small.
  await sql`create index orders_expiry_idx on orders (expires_at) where status = 'CREATED'`.execute(db);

  await sql`
    create table order_items (
      order_id text not null references orders (id) on delete cascade,
      line_no integer not null,
      product_id text not null references products (id),
      sku text not null,
      name text not null,
      quantity integer not null check (quantity > 0),
      unit_amount integer not null check (unit_amount >= 0),
      line_total bigint not null check (line_total >= 0),
      primary key (order_id, line_no)
    )`.execute(db);

  await sql`
    create table order_events (
      order_id text not null references orders (id) on delete cascade,
      seq integer not null,
      type text not null,
      from_status text,
      to_status text not null,
      actor text not null,
      reason text,
      at timestamptz not null,
      primary key (order_id, seq)
    )`.execute(db);

  await sql`
    create table idempotency_keys (
      scope text not null,
      key text not null,
      method text not null,
      route text not null,
      fingerprint text not null,
      state text not null check (state in ('in_progress', 'done')),
      response_status integer,
      response_body jsonb,
      -- Lease of the request executing the key; past it, a retry may take the key over.
      locked_until timestamptz,
      -- Fencing token of the current lease holder: only it may record the response.
      lease_id text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (scope, key)
    )`.execute(db);
  // Cleanup job: delete keys older than the retention.
  await sql`create index idempotency_keys_created_idx on idempotency_keys (created_at)`.execute(db);

  await sql`
    create table user_event_counters (
      user_id text primary key,
      last_event_id bigint not null
    )`.execute(db);
  await sql`
    create table outbox (
      id bigint generated always as identity primary key,
      user_id text not null,
      event_id bigint not null,
      type text not null check (type in ('order.updated', 'payment.updated')),
      payload jsonb not null,
      created_at timestamptz not null default now(),
      published_at timestamptz
    )`.execute(db);
  // Replay after a client's lastEventId; also guarantees one message per (user, eventId).
  await sql`create unique index outbox_user_event_key on outbox (user_id, event_id)`.execute(db);
  // The relay's queue: only unpublished rows.
  await sql`create index outbox_unpublished_idx on outbox (id) where published_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'outbox',
    'user_event_counters',
    'idempotency_keys',
    'order_events',
    'order_items',
    'orders',
    'products',
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
