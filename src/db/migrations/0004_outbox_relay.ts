import { sql, type Kysely } from 'kysely';

// The outbox relay: a marker per sink, and a notification on every insert so the relay wakes at once.
export async function up(db: Kysely<unknown>): Promise<void> {
  // published_at (0002) is the Socket.IO sink; this is RabbitMQ's, set only after the broker confirmed.
  await sql`alter table outbox add column amqp_published_at timestamptz`.execute(db);
  // The RabbitMQ sink's queue: only rows the broker has not confirmed yet.
  await sql`create index outbox_amqp_unpublished_idx on outbox (id) where amqp_published_at is null`.execute(db);
  // NOTIFY is delivered at commit, so a listener never reads a row before it is visible;
  // one per statement, and PostgreSQL folds identical notifications of one transaction into one.
  await sql`
    create function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('fulcrum_outbox', '');
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger outbox_notify on outbox`.execute(db);
  await sql`drop function outbox_notify()`.execute(db);
  await sql`drop index outbox_amqp_unpublished_idx`.execute(db);
  await sql`alter table outbox drop column amqp_published_at`.execute(db);
}
