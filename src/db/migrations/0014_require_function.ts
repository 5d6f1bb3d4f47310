import { sql, type Kysely } from 'kysely';

// Issue 11: a statement that writes several tables at once (placing an order is one statement of data-modifying
// CTEs) needs a way to refuse itself when a condition it computed does not hold — e.g. fewer products were
// reserved than the order has lines — so that nothing of it is written. `fulcrum_require(ok, reason)` is true when
// `ok` is, and otherwise raises SQLSTATE P0001 with `reason` as the message, which aborts the whole statement.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function fulcrum_require(ok boolean, reason text) returns boolean language plpgsql as $$
    begin
      if ok then
        return true;
      end if;
      raise exception using errcode = 'P0001', message = reason;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function fulcrum_require(boolean, text)`.execute(db);
}
