import { decodeJwt } from 'jose';
import { z } from 'zod';
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
