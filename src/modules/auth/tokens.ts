import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Role } from '../../db/schema.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { unauthorized } from '../../shared/errors.ts';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const ISSUER = 'fulcrum';
const AUDIENCE = 'fulcrum-api';
const roles: readonly Role[] = ['customer', 'support', 'admin'];

export interface TokenService {
  issueAccessToken(actor: Actor): Promise<string>;
  verifyAccessToken(token: string): Promise<Actor>;
}

/** Verified access tokens a process remembers (each about 300 bytes with its key). */
const VERIFIED_MAX = 10_000;

export function createTokenService(secret: string, clock: Clock): TokenService {
  const key = new TextEncoder().encode(secret);
  // A token verified once is the same bytes the next time: its signature and claims need no second HMAC (WebCrypto,
  // async: 5 % of the order benchmark's CPU) until it expires, which is checked again at every use. Oldest first out.
  const verified = new Map<string, { actor: Actor; exp: number }>();
  const remember = (token: string, actor: Actor, exp: number) => {
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { actor, exp });
  };
  return {
    async issueAccessToken(actor) {
      const now = Math.floor(clock.now().getTime() / 1000);
      return new SignJWT({ role: actor.role })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(actor.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
        .sign(key);
    },
    async verifyAccessToken(token) {
      const known = verified.get(token);
      // jose's rule: expired once `exp` <= now in whole seconds.
      if (known !== undefined && known.exp > Math.floor(clock.now().getTime() / 1000)) return { ...known.actor };
      if (known !== undefined) verified.delete(token);
      try {
        // The algorithm is pinned: `alg: none` or an asymmetric header is refused before any check.
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          currentDate: clock.now(),
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        const role = payload.role;
        if (typeof payload.sub !== 'string' || payload.sub === '' || !roles.includes(role as Role))
          throw unauthorized('Invalid access token.');
        const actor = { id: payload.sub, role: role as Role };
        remember(token, actor, payload.exp!);
        return { ...actor };
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw unauthorized('The access token has expired.', 'token_expired');
        throw unauthorized('Invalid access token.');
      }
    },
  };
}

/** Opaque refresh tokens: random, only their SHA-256 is stored. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
