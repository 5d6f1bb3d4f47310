import type { Db, Executor } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { conflict, unauthorized } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { accountDisabled } from './accounts.ts';
import { toUserDto, type SessionDto, type UserDto } from './auth.schemas.ts';
import type { LoginLimiter } from './login-limiter.ts';
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from './password.ts';
import { assertNewPassword } from './password-policy.ts';
import {
  findRefreshTokenByHash,
  insertRefreshToken,
  isFamilyRevoked,
  revokeFamily,
  spendRefreshToken,
} from './refresh-tokens.repository.ts';
import { ACCESS_TOKEN_TTL_SECONDS, hashToken, newOpaqueToken, type TokenService } from './tokens.ts';
import {
  findUserByEmail,
  findUserById,
  insertUser,
  isEmailTaken,
  updatePasswordHash,
  type UserRow,
} from './users.repository.ts';

/** Refresh tokens live 30 days; each use rotates them, so an active client never meets the limit. */
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;

export interface AuthServiceDeps {
  db: Db;
  tokens: TokenService;
  clock: Clock;
  limiter: LoginLimiter;
  /** Runs in the registration's transaction (issue 16: mails the verification link). */
  afterRegister?: (trx: Executor, user: UserRow, now: Date) => Promise<void>;
}

export interface AuthService {
  register(input: { email: string; password: string; name: string }): Promise<SessionDto>;
  login(input: { email: string; password: string }, ip: string): Promise<SessionDto>;
  refresh(refreshToken: string): Promise<SessionDto>;
  logout(refreshToken: string): Promise<void>;
  me(actor: Actor): Promise<UserDto>;
}

const invalidCredentials = () => unauthorized('Wrong e-mail or password.', 'invalid_credentials');
const invalidRefreshToken = () => unauthorized('Invalid refresh token.');
const refreshTokenReused = () =>
  unauthorized('This refresh token was already used; every session of its family is revoked.', 'refresh_token_reused');

export type SessionIssuer = (executor: Executor, user: UserRow, familyId?: string) => Promise<SessionDto>;

/** A new refresh token (a new family unless one is given) and an access token for the user's current role. */
export function createSessionIssuer({ tokens, clock }: { tokens: TokenService; clock: Clock }): SessionIssuer {
  return async (executor, user, familyId) => {
    const now = clock.now();
    const id = newId('rtk');
    const refreshToken = newOpaqueToken();
    await insertRefreshToken(executor, {
      id,
      userId: user.id,
      familyId: familyId ?? id,
      tokenHash: hashToken(refreshToken),
      now,
      expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS),
    });
    const accessToken = await tokens.issueAccessToken({ id: user.id, role: user.role });
    return { user: toUserDto(user), accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
  };
}

export function createAuthService({ db, tokens, clock, limiter, afterRegister }: AuthServiceDeps): AuthService {
  const issueSession = createSessionIssuer({ tokens, clock });

  return {
    async register({ email, password, name }) {
      await assertNewPassword(password, email);
      const passwordHash = await hashPassword(password);
      try {
        // The unique index on lower(email) decides: no read-then-insert race between two registrations.
        return await db.transaction().execute(async (trx) => {
          const now = clock.now();
          const user = await insertUser(trx, { id: newId('usr'), email, name, passwordHash, role: 'customer', now });
          await afterRegister?.(trx, user, now);
          return issueSession(trx, user);
        });
      } catch (error) {
        if (isEmailTaken(error)) throw conflict('email_taken', 'An account with this e-mail already exists.');
        throw error;
      }
    },

    async login({ email, password }, ip) {
      await limiter.attempt(email, ip);
      const user = await findUserByEmail(db, email);
      // Unknown e-mail: the same argon2 work against a dummy hash, so time does not tell the two apart.
      const ok =
        user === undefined ? await verifyAgainstDummy(password) : await verifyPassword(user.password_hash, password);
      if (user === undefined || !ok) throw invalidCredentials();
      // Only a caller who knows the password learns that the account is disabled.
      if (user.disabled_at !== null) throw accountDisabled();
      await limiter.succeeded(email, ip);
      if (needsRehash(user.password_hash)) {
        await updatePasswordHash(db, user.id, await hashPassword(password), clock.now());
      }
      return issueSession(db, user);
    },

    refresh: (refreshToken) => rotateRefreshToken({ db, clock, issueSession }, refreshToken),

    async logout(refreshToken) {
      // Unknown, expired or already revoked tokens are accepted silently: logout reveals nothing.
      const row = await findRefreshTokenByHash(db, hashToken(refreshToken));
      if (row !== undefined) await revokeFamily(db, row.family_id, clock.now());
    },

    async me(actor) {
      const user = await findUserById(db, actor.id);
      if (user === undefined || user.deleted_at !== null) throw unauthorized('This account no longer exists.');
      return toUserDto(user);
    },
  };
}

/**
 * Spends a refresh token for a new pair in the same family. A spent token presented again was stolen or
 * replayed: its whole family is revoked. A disabled account gets no new session.
 */
async function rotateRefreshToken(
  { db, clock, issueSession }: { db: Db; clock: Clock; issueSession: SessionIssuer },
  refreshToken: string,
): Promise<SessionDto> {
  const now = clock.now();
  const row = await findRefreshTokenByHash(db, hashToken(refreshToken));
  if (row === undefined) throw invalidRefreshToken();
  if (row.used_at !== null) {
    await revokeFamily(db, row.family_id, now);
    throw refreshTokenReused();
  }
  if (row.revoked_at !== null || row.expires_at <= now) throw invalidRefreshToken();
  if (await isFamilyRevoked(db, row.family_id)) {
    await revokeFamily(db, row.family_id, now);
    throw invalidRefreshToken();
  }
  const outcome = await db.transaction().execute(async (trx) => {
    if (!(await spendRefreshToken(trx, row.id, now))) return 'not_spendable' as const;
    const user = await findUserById(trx, row.user_id);
    if (user === undefined) throw invalidRefreshToken();
    // Disabling revokes the tokens; this covers a refresh racing with it.
    if (user.disabled_at !== null) throw accountDisabled();
    return issueSession(trx, user, row.family_id);
  });
  if (outcome !== 'not_spendable') return outcome;
  // Lost a race: either a concurrent refresh spent it (a second use: reuse) or the family was revoked meanwhile.
  const again = await findRefreshTokenByHash(db, hashToken(refreshToken));
  if (again !== undefined && again.used_at !== null) {
    await revokeFamily(db, row.family_id, now);
    throw refreshTokenReused();
  }
  throw invalidRefreshToken();
}
