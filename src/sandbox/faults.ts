/**
 * Fault injection, set with `POST /_sandbox/faults` (replaces the whole set) and cleared with
 * `DELETE /_sandbox/faults`. Faults apply to events created (and API calls made) after they are set.
 *
 * - `duplicate: n`    each event's webhook is sent n extra times (same `evt_` id, fresh signature),
 *                     right after its first attempt; the copies are not retried.
 * - `delayMs: n`      each event's first delivery is held n ms (or until flushed).
 * - `reorder: true`   events are held in a batch, sent in reverse order one after another when
 *                     flushed or `reorderWindowMs` (default 500) after the batch's first event.
 * - `dropRate: p`     that fraction of events is never delivered at all — as if the endpoint had
 *                     lost it after answering 2xx: the sandbox counts it delivered, and the event
 *                     still appears in `GET /v1/events`, which is how reconciliation catches it.
 * - `apiErrorRate: p` that fraction of `/v1` calls answers 500 `api_error` before doing anything
 *                     (nothing is saved for its idempotency key, so a retry can succeed).
 * - `apiLatencyMs: n` every `/v1` answer is held n ms after the work is done; the idempotency key
 *                     stays in flight meanwhile (a concurrent retry gets 409).
 * - `signatureAgeSeconds: n` each event's webhook is signed with a timestamp n seconds old, on every
 *                     attempt — as if it had been signed when made and held n seconds on the way. Past the
 *                     receiver's tolerance (Stripe's 300 s) every attempt is refused, so only the event log
 *                     (`GET /v1/events`) can bring the event in.
 * - `seed: n`         makes the draws for dropRate and apiErrorRate a seeded sequence.
 */
export interface Faults {
  duplicate: number;
  delayMs: number;
  reorder: boolean;
  reorderWindowMs: number;
  dropRate: number;
  apiErrorRate: number;
  apiLatencyMs: number;
  signatureAgeSeconds: number;
}

export function noFaults(): Faults {
  return {
    duplicate: 0,
    delayMs: 0,
    reorder: false,
    reorderWindowMs: 500,
    dropRate: 0,
    apiErrorRate: 0,
    apiLatencyMs: 0,
    signatureAgeSeconds: 0,
  };
}

export type FaultsInput = Faults & { seed: number | null };

/** Validates a `POST /_sandbox/faults` body; returns an error message or the faults. */
export function parseFaults(body: unknown): FaultsInput | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'body must be a JSON object';
  const input = body as Record<string, unknown>;
  const out: FaultsInput = { ...noFaults(), seed: null };
  const known = [
    'duplicate',
    'delayMs',
    'reorder',
    'reorderWindowMs',
    'dropRate',
    'apiErrorRate',
    'apiLatencyMs',
    'signatureAgeSeconds',
    'seed',
  ];
  for (const key of Object.keys(input)) if (!known.includes(key)) return `unknown fault: ${key}`;

  const int = (
    key: 'duplicate' | 'delayMs' | 'reorderWindowMs' | 'apiLatencyMs' | 'signatureAgeSeconds',
    max: number,
  ): string | null => {
    const v = input[key];
    if (v === undefined) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) return `${key} must be an integer 0..${max}`;
    out[key] = v;
    return null;
  };
  const rate = (key: 'dropRate' | 'apiErrorRate'): string | null => {
    const v = input[key];
    if (v === undefined) return null;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) return `${key} must be a number 0..1`;
    out[key] = v;
    return null;
  };
  const problem =
    int('duplicate', 10) ??
    int('delayMs', 3_600_000) ??
    int('reorderWindowMs', 3_600_000) ??
    int('apiLatencyMs', 120_000) ??
    int('signatureAgeSeconds', 86_400) ??
    rate('dropRate') ??
    rate('apiErrorRate');
  if (problem !== null) return problem;
  if (input.reorder !== undefined) {
    if (typeof input.reorder !== 'boolean') return 'reorder must be a boolean';
    out.reorder = input.reorder;
  }
  if (input.seed !== undefined) {
    if (typeof input.seed !== 'number' || !Number.isInteger(input.seed)) return 'seed must be an integer';
    out.seed = input.seed;
  }
  return out;
}
