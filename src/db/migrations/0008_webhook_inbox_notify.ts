import { sql, type Kysely } from 'kysely';

// A notification on every webhook inbox insert, so a worker process wakes at once for an event that an API
// process stored (in one process the route wakes the worker directly; the poll stays as the fallback).
export async function up(db: Kysely<unknown>): Promise<void> {
  // Delivered at commit, so the woken worker finds the row; identical ones of a transaction fold into one.
  await sql`
    create function webhook_inbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('fulcrum_webhook_inbox', '');
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger webhook_inbox_notify after insert on webhook_inbox
    for each statement execute function webhook_inbox_notify()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger webhook_inbox_notify on webhook_inbox`.execute(db);
  await sql`drop function webhook_inbox_notify()`.execute(db);
}
