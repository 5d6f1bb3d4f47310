import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { IdempotencyKeysTable } from '../db/schema.ts';
import type { Db, Executor } from '../db/database.ts';
import type { Logger } from '../observability/logger.ts';

/** The idempotency_keys table: claims, leases, recorded answers and their clean-up (idempotency.ts uses them). */

/** Keys are kept at least this long (docs/api.md: at least 24 hours). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A key as a request holds it: scoped to the caller, fenced by the lease it took. */
export interface KeyRef {
  scope: string;
  key: string;
  leaseId: string;
}

/** The request a key was first used with. */
export interface KeyRequest {
  scope: string;
  key: string;
  method: string;
  route: string;
  fingerprint: string;
}

/** Claims a new key (the primary key decides races): false when the key exists already. */
export async function claimKey(
  db: Db,
  request: KeyRequest,
  lease: { leaseId: string; lockedUntil: Date },
  now: Date,
): Promise<boolean> {
  const claimed = await db
    .insertInto('idempotency_keys')
    .values({
      ...request,
      state: 'in_progress',
      response_status: null,
      response_body: null,
      locked_until: lease.lockedUntil,
      lease_id: lease.leaseId,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return claimed !== undefined;
}

/** What deciding about a key that exists reads of it (findKey, or a route's own first read: lookupInHandler). */
export type ExistingKey = Pick<
  Selectable<IdempotencyKeysTable>,
  'method' | 'route' | 'fingerprint' | 'state' | 'response_status' | 'response_body' | 'locked_until' | 'lease_id'
>;

export function findKey(db: Db, scope: string, key: string): Promise<ExistingKey | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .select(['method', 'route', 'fingerprint', 'state', 'response_status', 'response_body', 'locked_until', 'lease_id'])
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Takes over a key whose request died mid-way, unless another retry got there first (the old lease fences it). */
export async function takeOverKey(
  db: Db,
  where: { scope: string; key: string; previousLeaseId: string | null },
  lease: { leaseId: string; lockedUntil: Date },
  now: Date,
): Promise<boolean> {
  const taken = await db
    .updateTable('idempotency_keys')
    .set({ lease_id: lease.leaseId, locked_until: lease.lockedUntil, updated_at: now })
    .where('scope', '=', where.scope)
    .where('key', '=', where.key)
    .where('state', '=', 'in_progress')
    .where((eb) =>
      where.previousLeaseId === null ? eb('lease_id', 'is', null) : eb('lease_id', '=', where.previousLeaseId),
    )
    .returning('key')
    .executeTakeFirst();
  return taken !== undefined;
}

/**
 * Stores the answer under our lease. `onlyInProgress`: the first recording; otherwise the request's final
 * answer may replace what its service recorded mid-way (a refund recorded PENDING, then SUCCEEDED).
 */
export async function markDone(
  db: Executor,
  where: KeyRef,
  status: number,
  body: unknown,
  now: Date,
  onlyInProgress: boolean,
): Promise<number> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({
      state: 'done',
      response_status: status,
      response_body: JSON.stringify(body),
      locked_until: null,
      updated_at: now,
    })
    .where('scope', '=', where.scope)
    .where('key', '=', where.key)
    .where('lease_id', '=', where.leaseId)
    .where('state', 'in', onlyInProgress ? ['in_progress'] : ['in_progress', 'done'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * markDone (in progress only) as a statement to run inside another one, as a data-modifying CTE: it returns one
 * row (`done`) when the lease still held and the key is now done, none when another request took it over.
 */
export function markDoneInline(where: KeyRef, status: number, body: unknown, now: Date): RawBuilder<{ done: number }> {
  return sql<{ done: number }>`
    update idempotency_keys
    set state = 'done', response_status = ${status}, response_body = ${JSON.stringify(body)}::jsonb,
        locked_until = null, updated_at = ${now}::timestamptz
    where scope = ${where.scope}::text and key = ${where.key}::text and lease_id = ${where.leaseId}::text
      and state = 'in_progress'
    returning 1 as done`;
}

/** A deferred claim's key, written once and done (docs: createIdempotency's deferClaim), as a CTE for another statement. */
export function insertDoneInline(
  request: KeyRequest,
  status: number,
  body: unknown,
  now: Date,
): RawBuilder<{ done: number }> {
  return sql<{ done: number }>`
    insert into idempotency_keys
      (scope, key, method, route, fingerprint, state, response_status, response_body, locked_until, lease_id,
       created_at, updated_at)
    values (${request.scope}::text, ${request.key}::text, ${request.method}::text, ${request.route}::text,
            ${request.fingerprint}::text, 'done', ${status}::integer, ${JSON.stringify(body)}::jsonb, null, null,
            ${now}::timestamptz, ${now}::timestamptz)
    on conflict (scope, key) do nothing
    returning 1 as done`;
}

/** insertDoneInline on its own: 1 when written, 0 when another request recorded the key first. */
export async function insertDone(db: Executor, request: KeyRequest, status: number, body: unknown, now: Date) {
  const result = await insertDoneInline(request, status, body, now).execute(db);
  return result.rows.length;
}

export async function insertDoneKey(
  db: Db,
  request: KeyRequest,
  status: number,
  body: unknown,
  now: Date,
  logger: Logger,
): Promise<void> {
  if ((await insertDone(db, request, status, body, now)) > 0) return;
  logger.warn(
    { scope: request.scope, key: request.key },
    'idempotent response not recorded: another request recorded it first',
  );
}

export async function releaseKey(db: Db, where: KeyRef): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', where.scope)
    .where('key', '=', where.key)
    .where('lease_id', '=', where.leaseId)
    .where('state', '=', 'in_progress')
    .execute();
}

export async function completeKey(db: Db, where: KeyRef, status: number, body: unknown, now: Date, logger: Logger) {
  // Also replaces an answer the service recorded inside its transaction with the final one.
  if ((await markDone(db, where, status, body, now, false)) > 0) return;
  logger.warn({ scope: where.scope, key: where.key }, 'idempotent response not recorded: the lease was lost');
}

/**
 * Cleanup job: deletes keys older than the retention (done ones, or in-progress ones whose lease is over),
 * in batches so no statement runs long; `maxBatches` bounds one call. Returns how many were deleted.
 */
export async function deleteExpiredIdempotencyKeys(
  db: Executor,
  now: Date,
  options: { retentionMs?: number; batchSize?: number; maxBatches?: number } = {},
): Promise<number> {
  const cutoff = new Date(now.getTime() - (options.retentionMs ?? IDEMPOTENCY_RETENTION_MS));
  const batchSize = options.batchSize ?? 1000;
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const result = await sql`
      delete from idempotency_keys
      where (scope, key) in (
        select scope, key from idempotency_keys
        where created_at < ${cutoff} and (state = 'done' or locked_until is null or locked_until < ${now})
        order by created_at
        limit ${batchSize}
      )`.execute(db);
    const n = Number(result.numAffectedRows ?? 0n);
    deleted += n;
    if (n < batchSize) break;
  }
  return deleted;
}

/**
 * Ends every running request's lease at once: for a process that knows it is the only one on its database (PGlite,
 * whose DATA_DIR lock proves it) and is starting, so any request still in progress died with the previous process.
 * A retry then takes its key over straight away instead of answering 409 until the lease would have run out.
 */
export async function releaseIdempotencyLeases(db: Executor, now: Date): Promise<number> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({ locked_until: now, updated_at: now })
    .where('state', '=', 'in_progress')
    .where('locked_until', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
