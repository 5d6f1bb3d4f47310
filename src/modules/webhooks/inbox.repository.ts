import { sql, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
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
}

/** Stores an event once per (provider, event id); true when it was new. A duplicate changes nothing. */
export async function insertInboxEvent(db: Executor, event: NewInboxEvent, now: Date): Promise<boolean> {
  const row = await db
    .insertInto('webhook_inbox')
    .values({
      id: newId('whk'),
      provider: event.provider,
      event_id: event.eventId,
      type: event.type,
      payload: event.payload,
      next_attempt_at: now,
      received_at: now,
    })
    .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Takes up to `limit` due rows for `leaseMs`: rows nobody holds, or whose holder's lease ran out (a worker
 * that died). SKIP LOCKED lets workers take disjoint rows without waiting; the new lease id fences out a
 * previous holder that wakes up late. Attempts count claims, so a row that kills its worker ends dead too.
 */
export async function claimDue(
  db: Executor,
  now: Date,
  leaseMs: number,
  limit: number,
  leaseId: string,
): Promise<InboxRow[]> {
  const lockedUntil = new Date(now.getTime() + leaseMs);
  const { rows } = await sql<InboxRow>`
    update webhook_inbox set locked_until = ${lockedUntil}, lease_id = ${leaseId}, attempts = attempts + 1
    where id in (
      select id from webhook_inbox
      where status in ('pending', 'failed') and next_attempt_at <= ${now}
        and (locked_until is null or locked_until <= ${now})
      order by next_attempt_at, received_at
      limit ${limit}
      for update skip locked
    )
    returning *`.execute(db);
  return rows.sort((a, b) => a.received_at.getTime() - b.received_at.getTime());
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

/** Newest first, `limit + 1` rows; with a status, served by the (status, received_at, id) index. */
export async function listInbox(
  db: Executor,
  options: { status?: InboxStatusColumn | undefined; after?: Cursor | undefined; limit: number },
): Promise<InboxRow[]> {
  let query = db
    .selectFrom('webhook_inbox')
    .selectAll()
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1);
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  const after = options.after;
  if (after !== undefined) {
    query = query.where((eb) => eb(eb.refTuple('received_at', 'id'), '<', eb.tuple(after.createdAt, after.id)));
  }
  return query.execute();
}
