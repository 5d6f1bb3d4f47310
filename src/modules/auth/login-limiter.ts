import { RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../shared/errors.ts';
import type { RateLimitStore } from './rate-limits.ts';

export interface LoginLimiterOptions {
  /** Consecutive failures for one e-mail from one address before the block. Default 10. */
  maxFailures?: number;
  /** How long the block lasts, in seconds. Default 900 (15 minutes). */
  blockSeconds?: number;
  /** Failures older than this (since the first of a run) are forgotten, in seconds. Default 86400. */
  windowSeconds?: number;
  /**
   * Failed logins from one address, whatever the e-mail, within `addressWindowSeconds` before that address is
   * blocked for `addressBlockSeconds` (password spraying: one password tried on many accounts). Default 50 in
   * 900 s, blocked 900 s.
   */
  maxFailuresPerAddress?: number;
  addressWindowSeconds?: number;
  addressBlockSeconds?: number;
}

export interface LoginLimiter {
  /**
   * Counts an attempt before the password is checked, so a burst of parallel guesses is counted
   * too; throws 429 rate_limited (with Retry-After) once the key is blocked, whatever the password.
   */
  attempt(email: string, ip: string): Promise<void>;
  /** A successful login resets the count. */
  succeeded(email: string, ip: string): Promise<void>;
}

/**
 * Per e-mail and address (`${email}|${ip}`), and per address across e-mails, in the given store: shared by every node through Redis when
 * REDIS_URL is set (falling back to this node's memory while Redis is unreachable), memory otherwise.
 */
export function createLoginLimiter(store: RateLimitStore, options: LoginLimiterOptions = {}): LoginLimiter {
  const maxFailures = options.maxFailures ?? 10;
  // The attempt after `maxFailures` failures exceeds the points, which blocks the key for blockDuration.
  const limiter = store.limiter({
    name: 'login',
    points: maxFailures,
    duration: options.windowSeconds ?? 86_400,
    blockDuration: options.blockSeconds ?? 900,
  });
  // Across accounts: every attempt from the address takes a point, a success gives it back, so only failures
  // count; past the points the address is blocked for every e-mail.
  const perAddress = store.limiter({
    name: 'login-address',
    points: options.maxFailuresPerAddress ?? 50,
    duration: options.addressWindowSeconds ?? 900,
    blockDuration: options.addressBlockSeconds ?? 900,
  });
  const keyOf = (email: string, ip: string) => `${email}|${ip}`;
  const tooMany = (rejection: unknown, detail: string) => {
    if (!(rejection instanceof RateLimiterRes)) return rejection;
    return new AppError('rate_limited', 'rate_limited', detail, { retryAfter: rejection.msBeforeNext / 1000 });
  };
  return {
    async attempt(email, ip) {
      try {
        await perAddress.consume(ip);
      } catch (rejection) {
        throw tooMany(rejection, 'Too many failed logins from this address. Try again later.');
      }
      try {
        await limiter.consume(keyOf(email, ip));
      } catch (rejection) {
        // Refused before any password check: not a failure of this address.
        await perAddress.reward(ip, 1).catch(() => undefined);
        throw tooMany(rejection, 'Too many failed logins. Try again later.');
      }
    },
    async succeeded(email, ip) {
      await limiter.delete(keyOf(email, ip));
      await perAddress.reward(ip, 1);
    },
  };
}
