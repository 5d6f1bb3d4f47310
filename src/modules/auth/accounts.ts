import type { Db, Executor } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, forbidden, notFound, unauthorized } from '../../shared/errors.ts';
import { toUserDto, type UserDto } from './auth.schemas.ts';
import { requirePermission } from '../../shared/permissions.ts';
import type { TokenService } from './tokens.ts';
import { findUserById } from './users.repository.ts';

/**
 * Disabled and deleted accounts (issue 12, docs/api.md § Accounts). An access token is a signed claim that
 * lives 15 minutes; whether its account may still act is read from the database at every use, so disabling an
 * account (or deleting it) takes effect at its next request and its next socket handshake.
 */

export const accountDisabled = (): AppError =>
  unauthorized('This account is disabled; an admin can enable it again.', 'account_disabled');
const accountGone = (): AppError => unauthorized('This account no longer exists.');

/** Throws 401 unless the account exists and is enabled. One primary-key read. */
export async function assertAccountActive(db: Executor, userId: string): Promise<void> {
  const row = await db
    .selectFrom('users')
    .select(['disabled_at', 'deleted_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  assertAccountRow(row);
}

/**
 * assertAccountActive with the account's row as a route's own first statement read it (undefined: no such
 * user) — for routes with `accountCheckedByHandler`.
 */
export function assertAccountRow(row: { disabled_at: Date | null; deleted_at: Date | null } | undefined): void {
  if (row === undefined || row.deleted_at !== null) throw accountGone();
  if (row.disabled_at !== null) throw accountDisabled();
}

/**
 * REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: checkout answers `403 email_not_verified` until the account's address is
 * verified (POST /auth/verify-email).
 */
export async function assertEmailVerified(db: Executor, userId: string): Promise<void> {
  const row = await db.selectFrom('users').select('email_verified_at').where('id', '=', userId).executeTakeFirst();
  if (row !== undefined && row.email_verified_at === null) {
    throw new AppError(
      'forbidden',
      'email_not_verified',
      'Verify your e-mail address before paying: see the link we mailed.',
    );
  }
}

/**
 * The token service every request and socket handshake verifies with: the signature and claims first (no
 * database work for a forged token), then the account. Issuing is unchanged.
 */
export function withAccountCheck(tokens: TokenService, db: Db): TokenService {
  return {
    issueAccessToken: (actor) => tokens.issueAccessToken(actor),
    async verifyAccessToken(token) {
      const actor = await tokens.verifyAccessToken(token);
      await assertAccountActive(db, actor.id);
      return actor;
    },
  };
}

/** What happens beyond the database when an account is disabled: its live sockets are closed (realtime). */
export interface SessionControl {
  disconnectUser(userId: string): void;
}

/**
 * PATCH /admin/users/:id { disabled }. Admins only, re-read from the database like role changes; an admin may not
 * disable themselves (so an enabled admin always remains). Disabling revokes every refresh token of the account
 * in the same transaction; access tokens are refused from the next request (withAccountCheck) and the account's
 * sockets are disconnected on every node. Enabling again clears the flag: revoked refresh tokens stay revoked.
 */
export async function setAccountDisabled(
  db: Db,
  clock: Clock,
  sessions: SessionControl,
  actor: Actor,
  userId: string,
  disabled: boolean,
): Promise<UserDto> {
  requirePermission(actor, 'disable_accounts');
  const current = await findUserById(db, actor.id);
  if (current === undefined) throw forbidden();
  requirePermission({ id: current.id, role: current.role }, 'disable_accounts');
  if (userId === actor.id && disabled) throw forbidden('Admins cannot disable their own account.');
  const now = clock.now();
  const updated = await db.transaction().execute(async (trx) => {
    const target = await trx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst();
    if (target === undefined) throw notFound('User');
    if ((target.disabled_at !== null) === disabled) return target;
    if (disabled) {
      await trx
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute();
    }
    return trx
      .updateTable('users')
      .set({ disabled_at: disabled ? now : null, updated_at: now })
      .where('id', '=', userId)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
  if (disabled) sessions.disconnectUser(userId);
  return toUserDto(updated);
}
