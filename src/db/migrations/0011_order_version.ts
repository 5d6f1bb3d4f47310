import { sql, type Kysely } from 'kysely';

// Issue 13: an order's version, increased by every change to its row (a trigger, so no writer can forget it),
// sent as the ETag of order responses and checked against If-Match by every state change. The relay's staff feed:
// every outbox row gets a number in one sequence for all users (assigned by the relay as it publishes, so the
// numbers follow publication order with no holes) that support and admin sockets replay after.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table orders add column version integer not null default 1`.execute(db);
  await sql`
    create function orders_bump_version() returns trigger language plpgsql as $$
    begin
      new.version := old.version + 1;
      return new;
    end
    $$`.execute(db);
  await sql`
    create trigger orders_bump_version before update on orders
    for each row execute function orders_bump_version()`.execute(db);
  await sql`alter table outbox add column staff_seq bigint`.execute(db);
  await sql`create unique index outbox_staff_seq_key on outbox (staff_seq) where staff_seq is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index outbox_staff_seq_key`.execute(db);
  await sql`alter table outbox drop column staff_seq`.execute(db);
  await sql`drop trigger orders_bump_version on orders`.execute(db);
  await sql`drop function orders_bump_version()`.execute(db);
  await sql`alter table orders drop column version`.execute(db);
}
