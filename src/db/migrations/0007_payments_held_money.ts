import { sql, type Kysely } from 'kysely';

// Money a payment received but that is not the order's payment: a flagged payment's (amount or currency not
// the order's), or late money for a payment that is no longer the order's active one. Recorded as it arrived
// so it can be accepted or refunded exactly; the payment's own amount stays what the order asked for.
// `refunded_amount` follows the refunds of that money too, so its bound becomes the larger of the two.
// Admin list (GET /admin/payments): newest first, by status, and the flagged ones waiting for an admin.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table payments
      add column captured_amount bigint check (captured_amount >= 0),
      add column captured_currency text check (captured_currency ~ '^[a-z]{3}$')`.execute(db);
  await dropRefundedCheck(db);
  await sql`
    alter table payments add constraint payments_refunded_amount_check
      check (refunded_amount >= 0 and refunded_amount <= greatest(amount, coalesce(captured_amount, 0)))`.execute(db);
  await sql`create index payments_created_idx on payments (created_at desc, id desc)`.execute(db);
  await sql`create index payments_status_created_idx on payments (status, created_at desc, id desc)`.execute(db);
  await sql`
    create index payments_flagged_idx on payments (created_at desc, id desc)
    where status = 'PENDING' and flagged_reason is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index payments_flagged_idx`.execute(db);
  await sql`drop index payments_status_created_idx`.execute(db);
  await sql`drop index payments_created_idx`.execute(db);
  await dropRefundedCheck(db);
  await sql`
    alter table payments add constraint payments_refunded_amount_check
      check (refunded_amount >= 0 and refunded_amount <= amount)`.execute(db);
  await sql`alter table payments drop column captured_amount, drop column captured_currency`.execute(db);
}

/** 0003's inline check on refunded_amount names two columns, so Postgres named it after the table (`payments_check`). */
async function dropRefundedCheck(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select conname as name from pg_constraint
    where conrelid = 'payments'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%refunded_amount <=%'`.execute(
    db,
  );
  for (const { name } of rows) await sql`alter table payments drop constraint ${sql.id(name)}`.execute(db);
}
