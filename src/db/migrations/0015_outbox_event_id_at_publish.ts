import { sql, type Kysely } from 'kysely';

// Issue 11: a user's eventIds were given by a per-user counter row taken in the writing transaction, so one
// customer's concurrent orders (and payments) queued on that row. Now the outbox relay numbers rows when it
// publishes them (realtime.repository.ts `numberEvents`), so a row is written without its eventId. The unique
// index on (user_id, event_id) stays: numbers are still unique per user, and rows not numbered yet are nulls.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table outbox alter column event_id drop not null`.execute(db);
  // The relay's lookup of rows still to number, oldest first.
  await sql`create index outbox_unnumbered_idx on outbox (id) where event_id is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index outbox_unnumbered_idx`.execute(db);
  await sql`alter table outbox alter column event_id set not null`.execute(db);
}
