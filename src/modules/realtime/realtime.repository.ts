import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { STAFF_FEED, type OutboxRow } from './events.ts';

// SQL only. Every query here is served by an index of migration 0002 or 0004 (named on each) or the primary key.

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

/**
 * The user's newest eventId, 0 when none: the counter numberEvents advances with the rows it numbers (primary
 * key), so it stays right after retention has pruned the user's rows. Rows committed but not numbered yet come
 * after it, live, with the next numbers.
 */
export async function lastUserEventId(db: Executor, userId: string): Promise<number> {
  const row = await db
    .selectFrom('user_event_counters')
    .select('last_event_id')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.last_event_id ?? 0);
}

/**
 * Retention: deletes up to `limit` of the oldest outbox rows, lowest id first, stopping before the first row that
 * was created at or after `cutoff` or that a sink has not published yet (RabbitMQ's only when `amqp`); returns
 * how many. Whatever else is old or published, nothing after such a row goes: per user, id order is eventId
 * order, so what is deleted is always a user's oldest events, never a hole in what a replay reads. The three
 * lookups walk the primary key and the unpublished indexes (outbox_unpublished_idx, outbox_amqp_unpublished_idx)
 * from the oldest row, which is where the rows to delete are.
 */
export async function deletePublishedBefore(
  db: Executor,
  cutoff: Date,
  options: { amqp: boolean; mail?: boolean; limit: number },
): Promise<number> {
  const oldest = () => db.selectFrom('outbox').select('id').orderBy('id').limit(1);
  const stops = [oldest().where('created_at', '>=', cutoff), oldest().where('published_at', 'is', null)];
  if (options.amqp) stops.push(oldest().where('amqp_published_at', 'is', null));
  // The mail job's marker (migration 0012, outbox_unmailed_idx).
  if (options.mail === true) stops.push(oldest().where('mailed_at', 'is', null));
  const bounds: number[] = [];
  for (const stop of stops) {
    const row = await stop.executeTakeFirst();
    if (row !== undefined) bounds.push(Number(row.id));
  }
  let candidates = db.selectFrom('outbox').select('id');
  if (bounds.length > 0) candidates = candidates.where('id', '<', Math.min(...bounds));
  const result = await db
    .deleteFrom('outbox')
    .where('id', 'in', candidates.orderBy('id').limit(options.limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export type Sink = 'socket' | 'amqp';

/**
 * The CTEs that number a CTE `todo` (id, user_id, n: the row's place among its user's rows in id order): `per_user`
 * counts each user's rows and `counters` moves the user's counter past them, so a row's eventId is
 * `counters.last_event_id - per_user.c + todo.n`. Shared by both numberings (numberEvents, listUnpublishedForSockets).
 */
const perUserCounters = sql`
    per_user as (select user_id, count(*) as c from todo group by user_id),
    counters as (
      insert into user_event_counters (user_id, last_event_id) select user_id, c from per_user
      on conflict (user_id) do update set last_event_id = user_event_counters.last_event_id + excluded.last_event_id
      returning user_id, last_event_id
    )`;

/**
 * Gives committed rows without an eventId their users' next eventIds, oldest row first, up to `limit` rows, in one
 * statement; returns how many it numbered. Per user the numbers follow row id order within a call and carry on
 * from the user's counter (user_event_counters), so they have no holes. Only the active outbox relay calls this,
 * one call at a time (two calls at once could both number a row), before either sink publishes.
 */
export async function numberEvents(db: Executor, limit: number): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    with todo as (
      select id, user_id, row_number() over (partition by user_id order by id) as n
      from (select id, user_id from outbox where event_id is null order by id limit ${limit}) as pending
    ),
    ${perUserCounters}
    update outbox set event_id = counters.last_event_id - per_user.c + todo.n
    from todo join per_user using (user_id) join counters using (user_id)
    where outbox.id = todo.id
    returning outbox.id`.execute(db);
  return rows.length;
}

/**
 * The oldest numbered rows a sink has not published yet (outbox_unpublished_idx / outbox_amqp_unpublished_idx),
 * ordered so that each user's come in eventId order.
 */
export async function listUnpublished(db: Executor, sink: Sink, limit: number): Promise<OutboxRow[]> {
  const query = db
    .selectFrom('outbox')
    .select(['id', 'user_id', 'event_id', 'type', 'payload'])
    .where('event_id', 'is not', null);
  const pending =
    sink === 'socket' ? query.where('published_at', 'is', null) : query.where('amqp_published_at', 'is', null);
  return inEventIdOrder(toRows(await pending.orderBy('id').limit(limit).execute()));
}

export async function markPublished(db: Executor, sink: Sink, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  const update = db.updateTable('outbox').where('id', 'in', [...ids]);
  if (sink === 'socket') await update.set({ published_at: at }).where('published_at', 'is', null).execute();
  else await update.set({ amqp_published_at: at }).where('amqp_published_at', 'is', null).execute();
}

/**
 * The rows in id order, except that each user's rows, in the places they hold, come in eventId order: a row that
 * committed late may have a lower id than one of the user's rows numbered before it.
 */
export function inEventIdOrder<R extends OutboxRow>(rows: readonly R[]): R[] {
  const byUser = new Map<string, R[]>();
  for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
  for (const own of byUser.values()) own.sort((a, b) => a.event_id - b.event_id);
  return rows.map((row) => byUser.get(row.user_id)!.shift()!);
}

/** bigint columns come back as strings from a client without the pool's parsers: numbers from here on. */
function toRows<R extends Omit<OutboxRow, 'event_id'> & { event_id: number | null }>(
  rows: readonly R[],
): (R & OutboxRow)[] {
  return rows.map((r) => ({ ...r, id: Number(r.id), event_id: Number(r.event_id) }));
}

/**
 * The oldest rows the sockets have not had yet (outbox_unpublished_idx), each user's in eventId order, each with its
 * eventId and its staff feed number (migration 0011), in one statement: rows without an eventId get their users' next
 * ones (as numberEvents gives them: per user in id order, carrying on from user_event_counters), rows without a feed
 * number get the feed's next ones in id order; rows numbered before (by the RabbitMQ loop's numberEvents, or a relay
 * that died before marking them) keep theirs. Every row is written once, with both numbers. Only the active relay
 * calls this, one numbering at a time (numberEvents included), as it publishes, so the numbers have no holes and the
 * feed's follow publication order. One statement: it was two (numberEvents, then this read), each rewriting the rows.
 */
export async function listUnpublishedForSockets(
  db: Executor,
  limit: number,
): Promise<(OutboxRow & { staff_seq: number })[]> {
  const { rows } = await sql<Omit<OutboxRow, 'event_id'> & { event_id: number; staff_seq: number }>`
    with batch as materialized (
      select id, user_id, event_id, type, payload, staff_seq from outbox
      where published_at is null
      order by id limit ${limit}
    ),
    todo as (
      select id, user_id, row_number() over (partition by user_id order by id) as n from batch where event_id is null
    ),
    ${perUserCounters},
    staff_todo as (select id, row_number() over (order by id) as n from batch where staff_seq is null),
    staff_counter as (
      insert into user_event_counters (user_id, last_event_id)
      select ${STAFF_FEED}::text, count(*) from staff_todo having count(*) > 0
      on conflict (user_id) do update set last_event_id = user_event_counters.last_event_id + excluded.last_event_id
      returning last_event_id
    ),
    numbered as (
      select b.id,
        coalesce(b.event_id, counters.last_event_id - per_user.c + todo.n) as event_id,
        coalesce(b.staff_seq, staff_counter.last_event_id - (select count(*) from staff_todo) + staff_todo.n)
          as staff_seq
      from batch b
      left join todo on todo.id = b.id
      left join per_user on per_user.user_id = todo.user_id
      left join counters on counters.user_id = todo.user_id
      left join staff_todo on staff_todo.id = b.id
      left join staff_counter on staff_todo.id is not null
    ),
    written as (
      update outbox set event_id = numbered.event_id, staff_seq = numbered.staff_seq
      from numbered
      where outbox.id = numbered.id and (outbox.event_id is null or outbox.staff_seq is null)
      returning outbox.id
    )
    select b.id, b.user_id, numbered.event_id, b.type, b.payload, numbered.staff_seq
    from batch b join numbered using (id)
    order by b.id`.execute(db);
  return inEventIdOrder(toRows(rows).map((row) => ({ ...row, staff_seq: Number(row.staff_seq) })));
}

/** The staff feed after `afterSeq`, oldest first, each row carrying its feed number as `event_id` (outbox_staff_seq_key). */
export async function listStaffEventsAfter(db: Executor, afterSeq: number, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .select(['id', 'user_id', 'staff_seq as event_id', 'type', 'payload'])
    .where('staff_seq', '>', afterSeq)
    .orderBy('staff_seq')
    .limit(limit)
    .execute()
    .then((rows) => toRows(rows as OutboxRow[]));
}
