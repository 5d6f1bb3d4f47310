import type { Executor } from '../../db/database.ts';
import type { OutboxRow } from './events.ts';

// SQL only. Every query here is served by an index of migration 0002 or 0004 (named on each).

/** One user's messages after `afterEventId`, oldest first (outbox_user_event_key); published or not. */
export async function listUserEventsAfter(
  db: Executor,
  userId: string,
  afterEventId: number,
  limit: number,
): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .select(['id', 'user_id', 'event_id', 'type', 'payload'])
    .where('user_id', '=', userId)
    .where('event_id', '>', afterEventId)
    .orderBy('event_id')
    .limit(limit)
    .execute()
    .then(toRows);
}

/** The user's newest committed eventId, 0 when none (outbox_user_event_key). */
export async function lastUserEventId(db: Executor, userId: string): Promise<number> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.max('event_id').as('last'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.last ?? 0);
}

export type Sink = 'socket' | 'amqp';

/** The oldest rows a sink has not published yet, in id order (outbox_unpublished_idx / outbox_amqp_unpublished_idx). */
export async function listUnpublished(db: Executor, sink: Sink, limit: number): Promise<OutboxRow[]> {
  const query = db.selectFrom('outbox').select(['id', 'user_id', 'event_id', 'type', 'payload']);
  const pending =
    sink === 'socket' ? query.where('published_at', 'is', null) : query.where('amqp_published_at', 'is', null);
  return pending.orderBy('id').limit(limit).execute().then(toRows);
}

export async function markPublished(db: Executor, sink: Sink, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  const update = db.updateTable('outbox').where('id', 'in', [...ids]);
  if (sink === 'socket') await update.set({ published_at: at }).where('published_at', 'is', null).execute();
  else await update.set({ amqp_published_at: at }).where('amqp_published_at', 'is', null).execute();
}

/** bigint columns come back as strings from a client without the pool's parsers: numbers from here on. */
function toRows(rows: readonly OutboxRow[]): OutboxRow[] {
  return rows.map((r) => ({ ...r, id: Number(r.id), event_id: Number(r.event_id) }));
}
