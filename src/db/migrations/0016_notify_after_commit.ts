import { sql, type Kysely } from 'kysely';

/**
 * Issue 11: no NOTIFY inside writing transactions. The triggers of 0004 (outbox) and 0008 (webhook inbox) notified in
 * every transaction that inserted, and PostgreSQL serializes the commits of notifying transactions under one lock held
 * across their WAL flush, so orders committed one fsync at a time. The application now notifies after the commit, on
 * its own (src/db/commit-signals.ts), on the same channels.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists outbox_notify on outbox`.execute(db);
  await sql`drop function if exists outbox_notify()`.execute(db);
  await sql`drop trigger if exists webhook_inbox_notify on webhook_inbox`.execute(db);
  await sql`drop function if exists webhook_inbox_notify()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('fulcrum_outbox', '');
      return null;
    end $$`.execute(db);
  await sql`
    create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify()`.execute(db);
  await sql`
    create function webhook_inbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('fulcrum_webhook_inbox', '');
      return null;
    end $$`.execute(db);
  await sql`
    create trigger webhook_inbox_notify after insert on webhook_inbox
    for each statement execute function webhook_inbox_notify()`.execute(db);
}
