import { sql, type Kysely } from 'kysely';

// Issue 11: the inbox claim as a function whose planner settings leave one plan — the due rows read in order from
// webhook_inbox_due_idx, each claimed row fetched back by its address (TID) — whatever the statistics say. The inbox
// is a queue: it is often analyzed while nearly empty (a quiet night) and then fills within seconds (an outage's
// backlog, a burst), and with such statistics PostgreSQL read and sorted every due row, or every row, for each claim
// of 100 (6–84 ms a claim in the bench; 212 ms for 8,000 due rows when the claimed rows were joined back by id).
// Parameters: $1 now, $2 the lease's end, $3 how many rows, $4 the lease id, $5 the attempts after which a row whose
// lease ran out is dead. Positional, so that the body can be EXPLAINed as it is (src/db/partial-index.test.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function fulcrum_claim_inbox(timestamptz, timestamptz, integer, text, integer)
    returns setof webhook_inbox language sql
    set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
    as $$
    with due as (
      select id, ctid, (locked_until is not null and attempts >= $5) as lost
      from webhook_inbox
      where status in ('pending', 'failed') and next_attempt_at <= $1
        and (locked_until is null or locked_until <= $1)
      order by next_attempt_at, received_at
      limit $3
      for update skip locked
    )
    update webhook_inbox w set
      status = case when due.lost then 'dead' else w.status end,
      last_error = case when due.lost
        then 'worker lost the row ' || w.attempts || ' times (its lease ran out without an outcome)'
        else w.last_error end,
      locked_until = case when due.lost then null else $2 end,
      lease_id = case when due.lost then null else $4 end,
      attempts = case when due.lost then w.attempts else w.attempts + 1 end
    from due
    where w.ctid = due.ctid and w.id = due.id
    returning w.*
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function fulcrum_claim_inbox(timestamptz, timestamptz, integer, text, integer)`.execute(db);
}
