import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { RawBuilder } from 'kysely';
import type { Db, Executor } from '../db/database.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, conflict } from '../shared/errors.ts';
import { actorOf } from './authenticate.ts';
import { canonicalJson, fingerprintOf, readKey } from './idempotency-request.ts';
import {
  claimKey,
  completeKey,
  findKey,
  insertDone,
  insertDoneInline,
  insertDoneKey,
  markDone,
  markDoneInline,
  releaseKey,
  takeOverKey,
  type ExistingKey,
  type KeyRequest,
} from './idempotency-keys.ts';
import { captureResponse, replay } from './idempotency-response.ts';
import { routePathOf } from './routes.ts';

export type { ExistingKey } from './idempotency-keys.ts';
export { canonicalJson, fingerprintOf } from './idempotency-request.ts';
export {
  deleteExpiredIdempotencyKeys,
  IDEMPOTENCY_RETENTION_MS,
  releaseIdempotencyLeases,
} from './idempotency-keys.ts';

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
  /**
   * No claim before the handler runs: the key is only read (a finished one is replayed, a running one refused as
   * always), and a new key is written once, done, by the handler's own statement (recordIdempotentResultInline:
   * `insert … on conflict do nothing`, which refuses the whole statement when another request recorded the key
   * meanwhile). For a route whose every effect is that one statement: a request that dies leaves nothing behind,
   * and a request costs one write instead of two. A route that acts outside that statement must not use it.
   */
  deferClaim?: boolean;
  /**
   * deferClaim, and not even a read before the handler: the handler reads the key in its own first statement
   * (keyToLookUpOf gives scope and key) and settles it with what it read before it acts. For a route that would
   * otherwise pay a round trip for the lookup alone (POST /orders).
   */
  lookupInHandler?: boolean;
}

export const IDEMPOTENCY_LEASE_MS = 60_000;

export function createIdempotency(options: IdempotencyOptions): RequestHandler {
  const { db, clock, logger } = options;
  const leaseMs = options.leaseMs ?? IDEMPOTENCY_LEASE_MS;
  const defer = options.deferClaim === true || options.lookupInHandler === true;

  /** Decides about the key (read now, or as the handler read it) and records the response once it is sent. */
  const begin = async (
    req: Request,
    res: Response,
    request: KeyRequest,
    prefetched?: { existing: ExistingKey | undefined },
  ): Promise<IdempotencyClaim | undefined> => {
    const claim = await claimOrReplay(db, request, { clock, logger, leaseMs, defer }, res, prefetched);
    if (claim === undefined) return undefined;
    claims.set(req, claim);
    captureResponse(res, async (status, sent) => {
      try {
        const kept = recorded.get(claim);
        // The service's statement stored this very answer: nothing to write. The response is the recorded body's
        // serialisation, so the texts are equal; a response sent another way is compared as canonical JSON.
        if (kept !== undefined && kept.status === status && kept.text !== undefined && kept.text === sent.text) return;
        const body = sent.body();
        // 412: nothing was done and the client retries with a new If-Match, which is not part of the key's request.
        if (status >= 500 || status === 400 || status === 412 || body === undefined) {
          if (claim.leaseId !== undefined) await releaseKey(db, claim);
        } else if (kept !== undefined && kept.status === status && canonicalJson(kept.body) === canonicalJson(body)) {
          // as above
        } else if (claim.leaseId === undefined) {
          // A deferred claim whose handler refused before writing (a 409 or 422 of its own): the answer is kept.
          await insertDoneKey(db, claim.request, status, body, clock.now(), logger);
        } else {
          await completeKey(db, claim, status, body, clock.now(), logger);
        }
      } catch (error) {
        // The response still goes out; the key stays in progress until its lease ends.
        logger.error({ err: error, scope: claim.scope, key: claim.key }, 'could not record the idempotent response');
      }
    });
    return claim;
  };

  return async (req, res, next) => {
    const key = readKey(req);
    const route = routePathOf(req);
    const request: KeyRequest = {
      scope: actorOf(req).id,
      key,
      method: req.method,
      route,
      fingerprint: fingerprintOf(req.method, route, req.body),
    };
    if (options.lookupInHandler === true) {
      inHandler.set(req, { request, settle: (existing) => begin(req, res, request, { existing }) });
    } else if ((await begin(req, res, request)) === undefined) {
      return;
    }
    next();
  };
}

/** A key whose lookup the route's handler makes in its own first statement (lookupInHandler). */
export interface KeyToLookUp {
  scope: string;
  key: string;
  /**
   * Decides with the key as the handler read it (undefined: there is none), exactly as the middleware would have:
   * a finished key is replayed — the response is sent, the answer undefined, and the handler must stop there —
   * another request's key or one still running is refused (throws), a key whose request died is taken over.
   * Otherwise the claim to record the handler's answer with.
   */
  settle(existing: ExistingKey | undefined): Promise<IdempotencyClaim | undefined>;
}

const inHandler = new WeakMap<Request, { request: KeyRequest; settle: KeyToLookUp['settle'] }>();

/** The key a route with `lookupInHandler` reads itself, once the middleware passed the request (else undefined). */
export function keyToLookUpOf(req: Request): KeyToLookUp | undefined {
  const pending = inHandler.get(req);
  if (pending === undefined) return undefined;
  return {
    scope: pending.request.scope,
    key: pending.request.key,
    settle: async (existing) => {
      // Once only: the handler's later attempts (a retry after a conflict) keep the claim they got.
      inHandler.delete(req);
      return pending.settle(existing);
    },
  };
}

/**
 * Claims the key (a new lease id; deferred: nothing yet), or takes over one whose request died, or replays a
 * finished one (then undefined); another request's key, or one still running, is refused.
 */
async function claimOrReplay(
  db: Db,
  request: KeyRequest,
  ctx: { clock: Clock; logger: Logger; leaseMs: number; defer: boolean },
  res: Response,
  /** The key as the route's handler read it: used instead of the first attempt's findKey. */
  prefetched?: { existing: ExistingKey | undefined },
): Promise<IdempotencyClaim | undefined> {
  const { scope, key } = request;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const now = ctx.clock.now();
    const lease = { leaseId: randomUUID(), lockedUntil: new Date(now.getTime() + ctx.leaseMs) };
    const deferred = ctx.defer && attempt === 0;
    if (!deferred && (await claimKey(db, request, lease, now))) return { scope, key, leaseId: lease.leaseId };
    const existing = attempt === 0 && prefetched !== undefined ? prefetched.existing : await findKey(db, scope, key);
    if (existing === undefined) {
      if (deferred) return { scope, key, request };
      continue; // released (5xx) between our insert and read: claim again
    }
    if (
      existing.method !== request.method ||
      existing.route !== request.route ||
      existing.fingerprint !== request.fingerprint
    ) {
      throw new AppError(
        'unprocessable',
        'idempotency_key_reused',
        'This Idempotency-Key was used with another request; use a new key for a new request.',
      );
    }
    if (existing.state === 'done') {
      replay(res, existing.response_status ?? 200, existing.response_body);
      return undefined;
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
    if (await takeOverKey(db, { scope, key, previousLeaseId: existing.lease_id }, lease, now)) {
      ctx.logger.warn({ scope, key, route: request.route }, 'idempotency key taken over after its lease ran out');
      return { scope, key, leaseId: lease.leaseId };
    }
  }
  throw conflict('idempotency_request_in_progress', 'A request with this Idempotency-Key is being processed.');
}

/**
 * The key a request holds: a service records its result with it inside its own transaction. Leased: the key's
 * row exists, in progress under our lease. Deferred (`deferClaim`): no row yet; the recording inserts it.
 */
export type IdempotencyClaim =
  | { scope: string; key: string; leaseId: string; request?: undefined }
  | { scope: string; key: string; leaseId?: undefined; request: KeyRequest };

const claims = new WeakMap<Request, IdempotencyClaim>();
/** What a service recorded under a claim inside its transaction: the same final answer is not written again. */
const recorded = new WeakMap<IdempotencyClaim, { status: number; body: unknown; text: string | undefined }>();

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
  const result =
    claim.leaseId === undefined
      ? await insertDone(trx, claim.request, status, body, now)
      : await markDone(trx, claim, status, body, now, true);
  if (result === 0) throw keyTakenOver();
  recorded.set(claim, { status, body, text: JSON.stringify(body) });
}

/** The message `fulcrum_require` raises when a statement's idempotency key was taken over (see below). */
export const KEY_TAKEN_OVER = 'idempotency_key_taken_over';

/** An idempotent answer recorded by the service's own statement (see recordIdempotentResultInline). */
export interface InlineRecord {
  /**
   * The key's update (leased claim) or insert (deferred claim), to put in that statement as a data-modifying CTE:
   * one row while the lease holds / when no other request recorded the key first.
   */
  update: RawBuilder<unknown>;
  /** The statement must refuse itself (`fulcrum_require`) with this message when `update` returns no row… */
  refusal: string;
  /** …and the service answers with this error then. */
  refused: () => AppError;
  /** Once the statement committed: spares the middleware a second write of the same answer. */
  committed: () => void;
}

/** recordIdempotentResult for a service that makes its whole effect in one statement. */
export function recordIdempotentResultInline(
  claim: IdempotencyClaim,
  status: number,
  body: unknown,
  now: Date,
): InlineRecord {
  return {
    update:
      claim.leaseId === undefined
        ? insertDoneInline(claim.request, status, body, now)
        : markDoneInline(claim, status, body, now),
    refusal: KEY_TAKEN_OVER,
    refused: keyTakenOver,
    committed: () => recorded.set(claim, { status, body, text: JSON.stringify(body) }),
  };
}

/** The answer when the key was taken over while its request ran (its lease had ended). */
export function keyTakenOver(): AppError {
  return new AppError('conflict', 'idempotency_request_in_progress', 'The Idempotency-Key was taken over.');
}
