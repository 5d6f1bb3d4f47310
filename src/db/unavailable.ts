/**
 * Whether an error means the database could not be reached or dropped the connection — an outage, not a bug:
 * the server restarting or shutting down, `pg_terminate_backend`, a network cut, a pool that could not connect
 * in time. Such a request is answered 503 with Retry-After (http/problem.ts); its transaction was rolled back,
 * or committed with its idempotency record, so the client's retry with the same key is safe either way.
 */

/** SQLSTATEs of an unreachable or departing server: class 08 (connection exception) and these. */
const OUTAGE_STATES = new Set([
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '53300', // too_many_connections
]);

/** Socket-level failures while connecting or talking to the server. */
const OUTAGE_SYSCALLS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** node-postgres's own messages for a lost or unobtainable connection (it sets no code on these). */
const OUTAGE_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Client was closed and is not queryable/,
];

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string') {
    if (/^08[0-9A-Z]{3}$/.test(code) || OUTAGE_STATES.has(code) || OUTAGE_SYSCALLS.has(code)) return true;
  }
  if (typeof message === 'string' && OUTAGE_MESSAGES.some((m) => m.test(message))) return true;
  // AggregateError (a connect that tried several addresses) and wrapped causes.
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.some((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return cause !== undefined && isDatabaseUnavailable(cause, depth + 1);
}
