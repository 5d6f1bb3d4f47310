/* eslint-disable max-lines -- over 300 lines; to split (issue 14, point 5) */
import { createHash, randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { sql } from 'kysely';
import type { Db, Executor } from '../db/database.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, conflict, invalid } from '../shared/errors.ts';
import { actorOf } from './authenticate.ts';

/**
 * Idempotency-Key handling (docs/api.md § Idempotency), one middleware for every route that needs it:
 * put `before: [idempotency]` and `idempotent: true` in the route spec (after authentication: keys are
 * scoped to the caller).
 *
 * - The first request with a key claims it (insert … on conflict do nothing: the primary key decides races)
 *   and holds a lease; the response it sends is recorded before it reaches the client.
 * - Same key, same method, path and body: the recorded status and body are replayed with `Idempotent-Replayed: true`.
 * - Same key, another body or another method/path: 422 idempotency_key_reused.
 * - Same key while the first still runs (lease not over): 409 idempotency_request_in_progress.
 * - A key whose request died mid-way (lease over, never finished) is taken over by the next retry, atomically.
 *
 * What is recorded (Stripe's rule: a result is kept once execution started): 2xx and 4xx responses are
 * stored and replayed — 409 insufficient_stock included, so a retry never reserves later by surprise —
 * except 400s (the request was rejected before anything happened; fix it and retry with the same key).
 * 5xx responses are not stored: the key is released so the client can retry the same request.
 */
export interface IdempotencyOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** How long a request may run before a retry may take its key over. Longer than any request can live. */
  leaseMs?: number;
}

export const IDEMPOTENCY_LEASE_MS = 60_000;
/** Keys are kept at least this long (docs/api.md: at least 24 hours). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

// eslint-disable-next-line max-lines-per-function -- over 80 lines; to split (issue 14, point 5)
export function createIdempotency(options: IdempotencyOptions): RequestHandler {
  const { db, clock, logger } = options;
  const leaseMs = options.leaseMs ?? IDEMPOTENCY_LEASE_MS;

  // eslint-disable-next-line max-lines-per-function -- over 80 lines; to split (issue 14, point 5)
  return async (req, res, next) => {
    const key = readKey(req);
    const scope = actorOf(req).id;
    const method = req.method;
    const route = `${req.baseUrl}${req.path}`;
    const fingerprint = fingerprintOf(method, route, req.body);

    for (let attempt = 0; attempt < 5; attempt += 1) {
      const now = clock.now();
      const leaseId = randomUUID();
      const lockedUntil = new Date(now.getTime() + leaseMs);
      const claimed = await db
        .insertInto('idempotency_keys')
        .values({
          scope,
          key,
          method,
          route,
          fingerprint,
          state: 'in_progress',
          response_status: null,
          response_body: null,
          locked_until: lockedUntil,
          lease_id: leaseId,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (claimed !== undefined) return execute(leaseId);

      const existing = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('scope', '=', scope)
        .where('key', '=', key)
        .executeTakeFirst();
      if (existing === undefined) continue; // released (5xx) between our insert and read: claim again
      if (existing.method !== method || existing.route !== route || existing.fingerprint !== fingerprint) {
        throw new AppError(
          'unprocessable',
          'idempotency_key_reused',
          'This Idempotency-Key was used with another request; use a new key for a new request.',
        );
      }
      if (existing.state === 'done') {
        replay(res, existing.response_status ?? 200, existing.response_body);
        return;
      }
      if (existing.locked_until !== null && existing.locked_until > now) {
        throw new AppError(
          'conflict',
          'idempotency_request_in_progress',
          'A request with this Idempotency-Key is still being processed; retry shortly.',
          { retryAfter: 1 },
        );
      }
      // The first request died mid-way: take the key over, unless another retry got there first.
      const taken = await db
        .updateTable('idempotency_keys')
        .set({ lease_id: leaseId, locked_until: lockedUntil, updated_at: now })
        .where('scope', '=', scope)
        .where('key', '=', key)
        .where('state', '=', 'in_progress')
        .where((eb) =>
          existing.lease_id === null ? eb('lease_id', 'is', null) : eb('lease_id', '=', existing.lease_id),
        )
        .returning('key')
        .executeTakeFirst();
      if (taken !== undefined) {
        logger.warn({ scope, key, route }, 'idempotency key taken over after its lease ran out');
        return execute(leaseId);
      }
    }
    throw conflict('idempotency_request_in_progress', 'A request with this Idempotency-Key is being processed.');

    function execute(leaseId: string): void {
      const claim = { scope, key, leaseId };
      claims.set(req, claim);
      captureResponse(res, async (status, body) => {
        const where = claim;
        try {
          // 412: nothing was done and the client retries with a new If-Match, which is not part of the key's request.
          if (status >= 500 || status === 400 || status === 412 || body === undefined) {
            await release(db, where);
          } else if (recorded.get(claim) === canonicalJson({ status, body })) {
            // The service's transaction stored this very answer (the response is a serialisation of the
            // recorded body, so the comparison is exact): nothing to write.
          } else {
            await complete(db, where, status, body, clock.now(), logger);
          }
        } catch (error) {
          // The response still goes out; the key stays in progress until its lease ends.
          logger.error({ err: error, scope, key }, 'could not record the idempotent response');
        }
      });
      next();
    }
  };
}

/** The key a request holds: a service records its result with it inside its own transaction. */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  leaseId: string;
}
type KeyRef = IdempotencyClaim;

const claims = new WeakMap<Request, IdempotencyClaim>();
/** What a service recorded under a claim inside its transaction: the same final answer is not written again. */
const recorded = new WeakMap<IdempotencyClaim, string>();

/** The claim of a request that passed the idempotency middleware, if any. */
export function idempotencyClaimOf(req: Request): IdempotencyClaim | undefined {
  return claims.get(req);
}

/**
 * Records the response in the transaction that makes the effect, so both commit or neither does: a process
 * dying between commit and response leaves a done key, and the retry replays instead of acting again.
 * The middleware's own recording after the response then finds the key done and leaves it.
 */
export async function recordIdempotentResult(
  trx: Executor,
  claim: IdempotencyClaim,
  status: number,
  body: unknown,
  now: Date,
): Promise<void> {
  const result = await markDone(trx, claim, status, body, now, true);
  if (result === 0)
    throw new AppError('conflict', 'idempotency_request_in_progress', 'The Idempotency-Key was taken over.');
  recorded.set(claim, canonicalJson({ status, body }));
}

/**
 * Stores the answer under our lease. `onlyInProgress`: the first recording; otherwise the request's final
 * answer may replace what its service recorded mid-way (a refund recorded PENDING, then SUCCEEDED).
 */
async function markDone(
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

async function release(db: Db, where: KeyRef): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', where.scope)
    .where('key', '=', where.key)
    .where('lease_id', '=', where.leaseId)
    .where('state', '=', 'in_progress')
    .execute();
}

async function complete(db: Db, where: KeyRef, status: number, body: unknown, now: Date, logger: Logger) {
  // Also replaces an answer the service recorded inside its transaction with the final one.
  if ((await markDone(db, where, status, body, now, false)) > 0) return;
  logger.warn({ scope: where.scope, key: where.key }, 'idempotent response not recorded: the lease was lost');
}

function readKey(req: Request): string {
  const key = req.get('Idempotency-Key');
  if (key === undefined || key === '') {
    throw new AppError('invalid', 'idempotency_key_required', 'This request needs an Idempotency-Key header.');
  }
  if (!KEY_PATTERN.test(key)) {
    throw invalid(
      [{ path: 'headers.Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }],
      'The Idempotency-Key header is not valid.',
    );
  }
  return key;
}

/** sha256 over method, path and the body with keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function fingerprintOf(method: string, route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method}\n${route}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Runs `record(status, body)` when the handler (or the error handler) responds — through send/json or a
 * bare end() — and only then lets the response out: a client that retries the moment it has its answer
 * finds the key done, not in progress. `body` is the parsed JSON, null for an empty body, undefined when
 * it is not JSON (then nothing is stored).
 */
function captureResponse(res: Response, record: (status: number, body: unknown) => Promise<void>): void {
  const originalSend = res.send;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back on res and always called with res as this
  const originalEnd = res.end;
  const restore = () => {
    // express's send calls json/send/end again internally: those calls must pass straight through.
    res.send = originalSend;
    res.end = originalEnd;
  };
  res.send = function send(this: Response, payload?: unknown) {
    restore();
    void record(res.statusCode, parseBody(payload)).finally(() => {
      originalSend.call(res, payload);
    });
    return res;
  };
  res.end = function end(this: Response, ...args: unknown[]) {
    restore();
    const chunk = typeof args[0] === 'function' ? undefined : args[0];
    void record(res.statusCode, parseBody(chunk)).finally(() => {
      (originalEnd as (...a: unknown[]) => Response).apply(res, args);
    });
    return res;
  } as Response['end'];
}

/** The JSON body being sent: null when empty, undefined when it is not JSON we could replay. */
function parseBody(payload: unknown): unknown {
  if (payload === undefined || payload === null || payload === '') return null;
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
  if (text === undefined) return typeof payload === 'object' ? payload : undefined;
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function replay(res: Response, status: number, body: unknown): void {
  res.setHeader('Idempotent-Replayed', 'true');
  res.status(status);
  if (body === null || body === undefined) {
    res.end();
    return;
  }
  res.type(status >= 400 ? 'application/problem+json' : 'application/json').send(JSON.stringify(body));
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
