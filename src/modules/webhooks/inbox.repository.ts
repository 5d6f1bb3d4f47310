import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { keysetPage, type Page } from '../../db/keyset.ts';
import type { InboxStatusColumn, WebhookInboxTable } from '../../db/schema.ts';
import type { Cursor } from '../../shared/cursor.ts';
import { newId } from '../../shared/ids.ts';

export type InboxRow = Selectable<WebhookInboxTable>;

export interface NewInboxEvent {
  provider: string;
  eventId: string;
  type: string;
  /** The event exactly as received (JSON text). */
  payload: string;
  /**
   * Set when the event is known at intake to change nothing (a type the provider does not act on): the row is stored
   * `processed` with this outcome and the worker never takes it.
   */
  processedOutcome?: string | undefined;
}

/**
 * Stores an event once per (provider, event id); true when it was new and is waiting for the worker. A duplicate
 * changes nothing; an event stored already processed (`processedOutcome`) answers false: nothing to wake.
 */
export async function insertInboxEvent(
  db: Executor,
  event: NewInboxEvent,
  now: Date,
  id = newId('whk'),
): Promise<boolean> {
  const done = event.processedOutcome;
  const row = await db
    .insertInto('webhook_inbox')
    .values({
      id,
      provider: event.provider,
      event_id: event.eventId,
      type: event.type,
      payload: event.payload,
      next_attempt_at: now,
      received_at: now,
      ...(done === undefined ? {} : { status: 'processed' as const, outcome: done, processed_at: now }),
    })
    .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined && done === undefined;
}

/**
 * Takes up to `limit` due rows for `leaseMs`: rows nobody holds, or whose holder's lease ran out (a worker
 * that died). SKIP LOCKED lets workers take disjoint rows without waiting; the new lease id fences out a
 * previous holder that wakes up late. Attempts count claims, and a row whose lease ran out after its
 * `maxAttempts`-th claim is not claimed again but marked dead: a row that kills its worker every time (which
 * then never records the failure) ends dead too. Returns the claimed rows and those it declared dead.
 */
export async function claimDue(
  db: Executor,
  now: Date,
  leaseMs: number,
  limit: number,
  leaseId: string,
  maxAttempts: number,
): Promise<{ claimed: InboxRow[]; dead: InboxRow[] }> {
  const lockedUntil = new Date(now.getTime() + leaseMs);
  // One statement, the function of migration 0017: its planner settings keep the one plan that is right for a queue
  // (the due rows in index order, each claimed row fetched back by its address) however stale the statistics are.
  const { rows } = await sql<InboxRow>`
    select * from fulcrum_claim_inbox(${now}::timestamptz, ${lockedUntil}::timestamptz, ${limit}::int,
                                      ${leaseId}::text, ${maxAttempts}::int)`.execute(db);
  const byArrival = rows.sort((a, b) => a.received_at.getTime() - b.received_at.getTime());
  return { claimed: byArrival.filter((r) => r.status !== 'dead'), dead: byArrival.filter((r) => r.status === 'dead') };
}

/** Locks a claimed row for its processing transaction, only while our lease still holds it. */
export async function lockClaimed(trx: Executor, id: string, leaseId: string): Promise<InboxRow | undefined> {
  return trx
    .selectFrom('webhook_inbox')
    .selectAll()
    .where('id', '=', id)
    .where('lease_id', '=', leaseId)
    .where('status', 'in', ['pending', 'failed'])
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Marks rows processed with their outcomes in one statement, each only while our lease still holds it; returns how
 * many it marked. Fewer than given: a lease was taken over (the caller rolls its transaction back). Run last in the
 * processing transaction, it is also the fence: the row locks it takes are held to the commit, so a worker whose lease
 * ran out cannot take them meanwhile (`skip locked`), and one that took them first leaves nothing for us to mark.
 */
export async function markProcessedAll(
  trx: Executor,
  done: readonly { id: string; outcome: string }[],
  leaseId: string,
  now: Date,
): Promise<number> {
  if (done.length === 0) return 0;
  const values = sql.join(done.map((d) => sql`(${d.id}, ${d.outcome})`));
  const result = await sql`
    update webhook_inbox w set status = 'processed', outcome = v.outcome, processed_at = ${now},
      locked_until = null, lease_id = null
    from (values ${values}) as v(id, outcome)
    where w.id = v.id and w.lease_id = ${leaseId} and w.status in ('pending', 'failed')`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * The same mark for one row as a data-modifying CTE named `inbox_done` of the caller's statement (a handler's quick
 * path, inbox-batch.ts): only while our lease holds the row, and with `gate` only if that CTE of the statement
 * returned a row — so the row is marked processed exactly when, and in the same statement as, the change is written.
 */
export function markProcessedInline(
  id: string,
  leaseId: string,
  outcome: string,
  now: Date,
  gate?: string,
): RawBuilder<unknown> {
  return sql`inbox_done as (
      update webhook_inbox set status = 'processed', outcome = ${outcome}::text, processed_at = ${now}::timestamptz,
        locked_until = null, lease_id = null
      where id = ${id}::text and lease_id = ${leaseId}::text and status in ('pending', 'failed')
        ${gate === undefined ? sql`` : sql`and exists (select 1 from ${sql.table(gate)})`}
      returning id
    )`;
}

export async function markProcessed(trx: Executor, id: string, outcome: string, now: Date): Promise<void> {
  await trx
    .updateTable('webhook_inbox')
    .set({ status: 'processed', outcome, processed_at: now, locked_until: null, lease_id: null })
    .where('id', '=', id)
    .execute();
}

/** After a failed attempt: retry at `nextAttemptAt`, or dead. Only the lease holder may record it. */
export async function markFailed(
  db: Executor,
  id: string,
  leaseId: string,
  error: string,
  status: 'failed' | 'dead',
  nextAttemptAt: Date,
): Promise<void> {
  await db
    .updateTable('webhook_inbox')
    .set({ status, last_error: error, next_attempt_at: nextAttemptAt, locked_until: null, lease_id: null })
    .where('id', '=', id)
    .where('lease_id', '=', leaseId)
    .execute();
}

/** Admin retry: a failed or dead row is due again with fresh attempts; false when not retryable. */
export async function requeue(db: Executor, id: string, now: Date): Promise<InboxRow | undefined> {
  return db
    .updateTable('webhook_inbox')
    .set({ status: 'pending', attempts: 0, next_attempt_at: now, locked_until: null, lease_id: null })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'dead'])
    .returningAll()
    .executeTakeFirst();
}

export async function findInboxRow(db: Executor, id: string): Promise<InboxRow | undefined> {
  return db.selectFrom('webhook_inbox').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first, a page by keysetPage (cursor on received_at, id); with a status, served by the (status, received_at, id) index. */
export async function listInbox(
  db: Executor,
  options: { status?: InboxStatusColumn | undefined; after?: Cursor | undefined; limit: number },
): Promise<Page<InboxRow>> {
  let query = db.selectFrom('webhook_inbox').selectAll();
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  return keysetPage(query, { at: 'received_at', after: options.after, limit: options.limit });
}

/**
 * Retention: deletes up to `limit` processed rows received and processed before `cutoff`, oldest first; returns
 * how many. Pending, failed and dead rows are never deleted (webhook_inbox_status_received_idx serves it).
 */
export async function deleteProcessedBefore(db: Executor, cutoff: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('webhook_inbox')
    .where(
      'id',
      'in',
      db
        .selectFrom('webhook_inbox')
        .select('id')
        .where('status', '=', 'processed')
        .where('received_at', '<', cutoff)
        .where('processed_at', '<', cutoff)
        .orderBy('received_at')
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
