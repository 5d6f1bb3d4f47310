import { sql, type Kysely } from 'kysely';

// Payments, refunds, the webhook inbox and a small key/value table for job state (the gateway event cursor).
// Every list and lookup the code runs has an index below; the comment on each says which query.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table payments (
      id text primary key,
      order_id text not null references orders (id),
      user_id text not null references users (id),
      provider text not null check (provider in ('stripe', 'manual')),
      status text not null check (status in
        ('PENDING', 'SUCCEEDED', 'FAILED', 'EXPIRED', 'CANCELED', 'PARTIALLY_REFUNDED', 'REFUNDED')),
      amount bigint not null check (amount >= 0),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      refunded_amount bigint not null default 0 check (refunded_amount >= 0 and refunded_amount <= amount),
      gateway_session_id text,
      gateway_payment_intent_id text,
      checkout_url text,
      -- When the gateway session must expire; fixed at insert so a retried create sends the same parameters.
      session_expires_at timestamptz,
      failure_reason text,
      -- Set when money arrived that does not match the order (amount, currency): never paid, shown to admins.
      flagged_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      succeeded_at timestamptz,
      -- Last time reconciliation asked the gateway about this payment.
      reconciled_at timestamptz
    )`.execute(db);
  // One payment that holds (or may yet hold) money per order: a racing second checkout fails here (23505).
  await sql`
    create unique index payments_order_active_key on payments (order_id)
    where status in ('PENDING', 'SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED')`.execute(db);
  // An order's payments, newest first (order view, checkout conflict answers).
  await sql`create index payments_order_created_idx on payments (order_id, created_at desc, id desc)`.execute(db);
  // Gateway events name the session: one payment per session.
  await sql`create unique index payments_session_key on payments (gateway_session_id)`.execute(db);
  // Payment-intent and refund events name the intent.
  await sql`
    create unique index payments_intent_key on payments (gateway_payment_intent_id)
    where gateway_payment_intent_id is not null`.execute(db);
  // Reconciliation: PENDING payments, oldest first.
  await sql`create index payments_pending_idx on payments (created_at, id) where status = 'PENDING'`.execute(db);

  await sql`
    create table refunds (
      id text primary key,
      payment_id text not null references payments (id),
      gateway_refund_id text,
      amount bigint not null check (amount > 0),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      status text not null check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
      reason text,
      failure_reason text,
      -- Who asked: a user id, or 'system' for automatic refunds (money for a cancelled order).
      initiated_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  // Refund events name the gateway's refund: one row per gateway refund.
  await sql`create unique index refunds_gateway_key on refunds (gateway_refund_id)`.execute(db);
  // A payment's refunds (sums under the payment row lock; the payment view).
  await sql`create index refunds_payment_idx on refunds (payment_id, created_at, id)`.execute(db);
  // Reconciliation: refunds still waiting for the gateway.
  await sql`create index refunds_pending_idx on refunds (created_at, id) where status = 'PENDING'`.execute(db);

  await sql`
    create table webhook_inbox (
      id text primary key,
      provider text not null,
      event_id text not null,
      type text not null,
      payload jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'processed', 'failed', 'dead')),
      attempts integer not null default 0,
      last_error text,
      -- What processing decided, e.g. 'PENDING -> SUCCEEDED' or 'ignored: unknown payment'.
      outcome text,
      next_attempt_at timestamptz not null,
      -- Lease of the worker holding the row; past it another worker may take the row.
      locked_until timestamptz,
      -- Fencing token of the lease holder: a worker whose lease was taken over cannot finish the row.
      lease_id text,
      received_at timestamptz not null,
      processed_at timestamptz
    )`.execute(db);
  // Deduplication: an event id is stored once per provider (ON CONFLICT DO NOTHING).
  await sql`create unique index webhook_inbox_event_key on webhook_inbox (provider, event_id)`.execute(db);
  // The worker's queue: only rows still to process, by due time.
  await sql`
    create index webhook_inbox_due_idx on webhook_inbox (next_attempt_at)
    where status in ('pending', 'failed')`.execute(db);
  // Admin list, newest first, with and without a status filter.
  await sql`create index webhook_inbox_received_idx on webhook_inbox (received_at desc, id desc)`.execute(db);
  await sql`
    create index webhook_inbox_status_received_idx on webhook_inbox (status, received_at desc, id desc)`.execute(db);

  await sql`
    create table job_state (
      key text primary key,
      value jsonb not null,
      updated_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['job_state', 'webhook_inbox', 'refunds', 'payments']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
