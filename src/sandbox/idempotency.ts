import type { Core } from './core.ts';
import { ApiError } from './errors.ts';
import type { Params } from './params.ts';
import type { IdempotencyRecord } from './state.ts';
import { canonicalJson } from './util.ts';

const retentionMs = 24 * 3600 * 1000;

export type IdempotencyCheck =
  | { kind: 'proceed'; record: IdempotencyRecord | null }
  | { kind: 'replay'; record: IdempotencyRecord }
  | { kind: 'error'; error: ApiError };

/**
 * Stripe's rules: the first result (status and body) is replayed for the same key; the same key
 * with other parameters or on another endpoint is a 400 `idempotency_error`; while the first
 * request runs, 409 with `Stripe-Should-Retry: false`. Keys are scoped to the sandbox's one account.
 */
export function beginIdempotent(
  core: Core,
  key: string | undefined,
  method: string,
  path: string,
  params: Params,
  requestId: string,
): IdempotencyCheck {
  if (key === undefined || method !== 'POST') return { kind: 'proceed', record: null };
  prune(core);
  if (key.length > 255) {
    return {
      kind: 'error',
      error: new ApiError({
        status: 400,
        type: 'invalid_request_error',
        message: `Idempotency keys can be at most 255 characters long, but the provided key has ${key.length} characters.`,
        isValidation: true,
      }),
    };
  }
  const paramsHash = canonicalJson(params);
  const existing = core.state.idempotency.get(key);
  if (existing !== undefined) {
    if (existing.inFlight) {
      return {
        kind: 'error',
        error: new ApiError({
          status: 409,
          type: 'invalid_request_error',
          code: 'idempotency_key_in_use',
          message:
            'There is currently another in-progress request using this Stripe API key and idempotency key. Please try again later.',
          headers: { 'Stripe-Should-Retry': 'false' },
        }),
      };
    }
    if (existing.method !== method || existing.path !== path) {
      return {
        kind: 'error',
        error: new ApiError({
          status: 400,
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${existing.method} ${existing.path}' vs '${method} ${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        }),
      };
    }
    if (existing.paramsHash !== paramsHash) {
      return {
        kind: 'error',
        error: new ApiError({
          status: 400,
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        }),
      };
    }
    return { kind: 'replay', record: existing };
  }
  const record: IdempotencyRecord = {
    key,
    method,
    path,
    paramsHash,
    inFlight: true,
    status: 0,
    body: '',
    requestId,
    createdAt: core.now(),
  };
  core.state.idempotency.set(key, record);
  return { kind: 'proceed', record };
}

export function finishIdempotent(core: Core, record: IdempotencyRecord | null, status: number, body: string): void {
  if (record === null) return;
  record.inFlight = false;
  record.status = status;
  record.body = body;
  core.changed();
}

/** Validation failures and unexpected errors save nothing: the key may be used again. */
export function abandonIdempotent(core: Core, record: IdempotencyRecord | null): void {
  if (record !== null && core.state.idempotency.get(record.key) === record) core.state.idempotency.delete(record.key);
}

function prune(core: Core): void {
  const cutoff = core.now() - retentionMs;
  for (const [key, record] of core.state.idempotency) {
    if (!record.inFlight && record.createdAt < cutoff) core.state.idempotency.delete(key);
  }
}
