import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Db, Executor } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, conflict, unauthorized } from '../../shared/errors.ts';
import type { MailQueue } from '../mail/index.ts';
import type { SessionControl } from './accounts.ts';
import { issueAccountToken, spendAccountToken, voidAccountTokens } from './account-tokens.ts';
import { toUserDto, type UserDto } from './auth.schemas.ts';
import { hashPassword } from './password.ts';
import { assertNewPassword } from './password-policy.ts';
import type { RateLimitStore } from './rate-limits.ts';
import { findUserByEmail, findUserById, isEmailTaken, type UserRow } from './users.repository.ts';

/**
 * Password reset and e-mail verification (issue 16, docs/api.md § Accounts). Tokens are mailed: the mail is
 * written to the `mails` table in the request's transaction and sent by the worker.
 */
export interface RecoveryDeps {
  db: Db;
  clock: Clock;
  rateLimits: RateLimitStore;
  mail: MailQueue;
  sessions: SessionControl;
  /** A password reset request is answered no sooner than this after it began (default RESET_ANSWER_FLOOR_MS). */
  resetAnswerFloorMs?: number;
}

/**
 * The least time a password reset request takes, whatever the address. A known account costs a token and a
 * mail row (about 11 ms against 7 ms for an unknown address, measured on PGlite): answering both no sooner
 * than this hides the difference unless the writes themselves take longer.
 */
export const RESET_ANSWER_FLOOR_MS = 200;

export interface RecoveryService {
  requestPasswordReset(email: string, ip: string): Promise<void>;
  confirmPasswordReset(token: string, password: string): Promise<void>;
  verifyEmail(token: string): Promise<UserDto>;
  resendVerification(actor: Actor): Promise<void>;
}

/** Revokes every refresh token of the user (every session must sign in again). */
export async function revokeAllRefreshTokens(db: Executor, userId: string, now: Date): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Mails a verification link for `email` (the account's address, or the one it is moving to). */
export async function queueVerification(
  db: Executor,
  mail: MailQueue,
  user: Pick<UserRow, 'id' | 'name'>,
  email: string,
  now: Date,
): Promise<void> {
  const { id, token } = await issueAccountToken(db, { userId: user.id, purpose: 'verify_email', email, now });
  const note = 'If you did not ask for this, ignore this mail.';
  await mail.enqueue(
    db,
    {
      eventKey: `verify_email:${id}`,
      userId: user.id,
      to: email,
      template: 'verify-email',
      vars: { name: user.name, email, token, note },
    },
    now,
  );
}

const rateLimited = (rejection: RateLimiterRes): AppError =>
  new AppError('rate_limited', 'rate_limited', 'Too many password reset requests: wait before asking again.', {
    retryAfter: Math.ceil(rejection.msBeforeNext / 1000),
  });

/** Spends a reset token and sets the password; returns the account's id (its sockets are closed after commit). */
async function setPasswordWithToken(db: Db, now: Date, token: string, password: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const spent = await spendAccountToken(trx, token, 'password_reset', now);
    const user = await findUserById(trx, spent.userId);
    if (user === undefined || user.deleted_at !== null) throw unauthorized('This account no longer exists.');
    // A policy refusal rolls the transaction back: the token stays usable for a better password.
    await assertNewPassword(password, user.email);
    await trx
      .updateTable('users')
      // The mail reached the address: it is verified now.
      .set({
        password_hash: await hashPassword(password),
        email_verified_at: user.email_verified_at ?? now,
        updated_at: now,
      })
      .where('id', '=', user.id)
      .execute();
    await voidAccountTokens(trx, user.id, 'password_reset', now);
    await revokeAllRefreshTokens(trx, user.id, now);
    return user.id;
  });
}

/** Spends a verification token: the address it names becomes the account's, verified. */
async function verifyWithToken(db: Db, now: Date, token: string): Promise<UserDto> {
  try {
    return await db.transaction().execute(async (trx) => {
      const spent = await spendAccountToken(trx, token, 'verify_email', now);
      const user = await findUserById(trx, spent.userId);
      if (user === undefined || user.deleted_at !== null) throw unauthorized('This account no longer exists.');
      const email = spent.email ?? user.email;
      // A link for an address the account has since moved away from (or given up moving to) is stale.
      if (email !== user.email && email !== user.pending_email)
        throw conflict('email_changed', 'This address is no longer the account’s.');
      const updated = await trx
        .updateTable('users')
        .set({ email, email_verified_at: now, pending_email: null, updated_at: now })
        .where('id', '=', user.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await voidAccountTokens(trx, user.id, 'verify_email', now);
      return toUserDto(updated);
    });
  } catch (error) {
    if (isEmailTaken(error)) throw conflict('email_taken', 'Another account took this address meanwhile.');
    throw error;
  }
}

export function createRecoveryService(deps: RecoveryDeps): RecoveryService {
  const { db, clock, rateLimits, mail, sessions } = deps;
  const floorMs = deps.resetAnswerFloorMs ?? RESET_ANSWER_FLOOR_MS;
  // More than 5 requests for one e-mail, or 20 from one address, within an hour: 429, and nothing is sent.
  const perEmail = rateLimits.limiter({ name: 'reset_email', points: 5, duration: 3600 });
  const perAddress = rateLimits.limiter({ name: 'reset_ip', points: 20, duration: 3600 });
  const consume = async (limiter: typeof perEmail, key: string) => {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw rateLimited(rejection);
      throw rejection;
    }
  };

  const mailResetLink = async (email: string): Promise<void> => {
    const user = await findUserByEmail(db, email);
    // Unknown, deleted or disabled: the same 202 and no mail, so the answer tells nothing about the address.
    if (user === undefined || user.deleted_at !== null || user.disabled_at !== null) return;
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      const { id, token } = await issueAccountToken(trx, { userId: user.id, purpose: 'password_reset', now });
      await mail.enqueue(
        trx,
        {
          eventKey: `password_reset:${id}`,
          userId: user.id,
          to: user.email,
          template: 'password-reset',
          vars: { name: user.name, token },
        },
        now,
      );
    });
  };

  return {
    async requestPasswordReset(email, ip) {
      const began = performance.now();
      await consume(perAddress, ip);
      await consume(perEmail, email);
      try {
        await mailResetLink(email);
      } finally {
        // Known or unknown (or failed), the answer leaves at the same earliest moment.
        const left = floorMs - (performance.now() - began);
        if (left > 0) await sleep(left);
      }
    },

    async confirmPasswordReset(token, password) {
      sessions.disconnectUser(await setPasswordWithToken(db, clock.now(), token, password));
    },

    verifyEmail: (token) => verifyWithToken(db, clock.now(), token),

    async resendVerification(actor) {
      const user = await findUserById(db, actor.id);
      if (user === undefined || user.deleted_at !== null) throw unauthorized('This account no longer exists.');
      const email = user.pending_email ?? (user.email_verified_at === null ? user.email : undefined);
      if (email === undefined) throw conflict('email_already_verified', 'This address is already verified.');
      // The reset limits apply here too, keyed by account: at most 5 links an hour.
      await consume(perEmail, `verify:${user.id}`);
      const now = clock.now();
      await db.transaction().execute((trx) => queueVerification(trx, mail, user, email, now));
    },
  };
}
