import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { Logger } from '../../observability/logger.ts';
import type { Actor } from '../../shared/actor.ts';
import { AppError } from '../../shared/errors.ts';
import type { TokenService } from '../auth/index.ts';

/** What a socket carries after the handshake. */
export interface Session {
  actor: Actor;
  /** Absent: no replay, live events from the user's newest one on. */
  lastEventId: number | undefined;
  /** Epoch ms at which the access token expires; the socket is disconnected then. */
  expiresAt: number;
}

/** A refused handshake: the client's `connect_error` carries `message`, and `data.code` says more. */
export class HandshakeError extends Error {
  readonly data: { code: string };
  constructor(message: string, code = message) {
    super(message);
    this.name = 'HandshakeError';
    this.data = { code };
  }
}

const authSchema = z.object({
  token: z.string().min(1).max(8192),
  lastEventId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
});

/**
 * Origins allowed to open a socket: CORS_ORIGINS plus the server's own (PUBLIC_URL), so its pages work.
 * A request without Origin is allowed: browsers always send one on WebSocket and cross-origin requests,
 * so its absence means a non-browser client, which a bearer token already authenticates.
 */
export function allowedOrigins(config: {
  readonly CORS_ORIGINS: readonly string[];
  readonly PUBLIC_URL: string;
}): ReadonlySet<string> {
  return new Set([...config.CORS_ORIGINS, new URL(config.PUBLIC_URL).origin]);
}

export function checkOrigin(origin: string | undefined, allowed: ReadonlySet<string>): void {
  if (origin !== undefined && !allowed.has(origin)) throw new HandshakeError('forbidden', 'forbidden_origin');
}

/** Checks the handshake's `auth`; throws HandshakeError with the message the client sees. */
export async function authenticateHandshake(auth: unknown, tokens: TokenService): Promise<Session> {
  const token = (auth as { token?: unknown } | null | undefined)?.token;
  if (typeof token !== 'string' || token === '') throw new HandshakeError('unauthorized');
  const parsed = authSchema.safeParse(auth);
  if (!parsed.success) {
    const tokenProblem = parsed.error.issues.some((issue) => issue.path[0] === 'token');
    throw tokenProblem ? new HandshakeError('unauthorized') : new HandshakeError('validation_failed');
  }
  let actor: Actor;
  try {
    actor = await tokens.verifyAccessToken(parsed.data.token);
  } catch (error) {
    const code = error instanceof AppError ? error.code : 'unauthorized';
    throw new HandshakeError('unauthorized', code);
  }
  // Verified above, so the claims are trusted; `exp` is required by verifyAccessToken.
  const exp = decodeJwt(parsed.data.token).exp ?? 0;
  return { actor, lastEventId: parsed.data.lastEventId ?? undefined, expiresAt: exp * 1000 };
}

/** Open sockets per user, across both feeds of a node: a user at `max` is refused `too_many_connections`. */
export interface ConnectionCounter {
  reserve(userId: string): boolean;
  release(userId: string): void;
}

export function connectionCounter(max: number): ConnectionCounter {
  const open = new Map<string, number>();
  return {
    reserve(userId) {
      const count = open.get(userId) ?? 0;
      if (count >= max) return false;
      open.set(userId, count + 1);
      return true;
    },
    release(userId) {
      const count = (open.get(userId) ?? 1) - 1;
      if (count > 0) open.set(userId, count);
      else open.delete(userId);
    },
  };
}

export interface HandshakeGateOptions {
  isShuttingDown(): boolean;
  origins: ReadonlySet<string>;
  tokens: TokenService;
  counter: ConnectionCounter;
  logger: Pick<Logger, 'error'>;
  /** What else the feed asks of the session (e.g. a permission): a refusal, or undefined to let it in. */
  admit?: (session: Session) => HandshakeError | undefined;
}

/**
 * The handshake of every feed, as Socket.IO middleware: refused while shutting down (`service_unavailable`),
 * from a foreign Origin (`forbidden`), without a valid token (`unauthorized`), by the feed's own rule, or at
 * the user's connection limit (`too_many_connections`); otherwise the session is the socket's `data`.
 */
export function handshakeGate(options: HandshakeGateOptions) {
  return (
    socket: { handshake: { headers: { origin?: string | undefined }; auth: unknown }; data: unknown },
    next: (error?: Error) => void,
  ): void => {
    if (options.isShuttingDown()) return next(new HandshakeError('service_unavailable'));
    try {
      checkOrigin(socket.handshake.headers.origin, options.origins);
    } catch (error) {
      return next(error as HandshakeError);
    }
    authenticateHandshake(socket.handshake.auth, options.tokens).then(
      (session) => {
        const refusal = options.admit?.(session);
        if (refusal !== undefined) return next(refusal);
        if (!options.counter.reserve(session.actor.id)) return next(new HandshakeError('too_many_connections'));
        socket.data = session;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof HandshakeError)) options.logger.error({ err: error }, 'socket handshake failed');
        next(error instanceof HandshakeError ? error : new HandshakeError('unauthorized'));
      },
    );
  };
}

/** The token's authority ends at its expiry: the connection is closed then (the client reconnects with a fresh one). */
export function closeAtExpiry(conn: { close(): void }, expiresAt: number, now: number): NodeJS.Timeout {
  const timer = setTimeout(() => conn.close(), Math.max(0, expiresAt - now));
  timer.unref();
  return timer;
}
