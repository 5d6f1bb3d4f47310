import type { Db, Executor } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, conflict, forbidden, notFound, unauthorized } from '../../shared/errors.ts';
import type { MailQueue } from '../mail/index.ts';
import type { SessionControl } from './accounts.ts';
import { toUserDto, type SessionDto, type UserDto } from './auth.schemas.ts';
import type { SessionIssuer } from './auth.service.ts';
import type { LoginLimiter } from './login-limiter.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { assertNewPassword } from './password-policy.ts';
import { requirePermission } from '../../shared/permissions.ts';
import { queueVerification, revokeAllRefreshTokens } from './recovery.service.ts';
import { findUserByEmail, findUserById, type UserRow } from './users.repository.ts';

/** The signed-in user's own account (issue 16): name, password, e-mail, deletion; and an admin's deletion. */
export interface ProfileDeps {
  db: Db;
  clock: Clock;
  limiter: LoginLimiter;
  mail: MailQueue;
  sessions: SessionControl;
  issueSession: SessionIssuer;
}

export interface ProfileService {
  updateName(actor: Actor, name: string): Promise<UserDto>;
  changePassword(
    actor: Actor,
    input: { currentPassword: string; newPassword: string },
    ip: string,
  ): Promise<SessionDto>;
  changeEmail(actor: Actor, input: { email: string; password: string }, ip: string): Promise<UserDto>;
  deleteOwnAccount(actor: Actor, password: string, ip: string): Promise<void>;
  deleteAccountAsAdmin(actor: Actor, userId: string): Promise<void>;
}

const wrongPassword = (): AppError =>
  new AppError('forbidden', 'wrong_password', 'The password is not this account’s password.');

/**
 * Erases an account's personal data in the caller's transaction: the e-mail (replaced by one that cannot receive
 * mail), the name, the password, the shipping addresses of its orders, its mails' addresses and text, its tokens and
 * its kept idempotent answers. The user row, orders and payments stay (the books), attached to an anonymous row.
 */
export async function eraseAccount(trx: Executor, mail: MailQueue, userId: string, now: Date): Promise<void> {
  await trx
    .updateTable('users')
    .set({
      email: `deleted-${userId}@deleted.invalid`,
      name: '',
      password_hash: '!deleted',
      pending_email: null,
      email_verified_at: null,
      // An anonymous row holds no rights: it no longer counts as an admin (the first-admin setup counts admins).
      role: 'customer',
      deleted_at: now,
      updated_at: now,
    })
    .where('id', '=', userId)
    .execute();
  await trx.updateTable('orders').set({ shipping_address: null }).where('user_id', '=', userId).execute();
  await revokeAllRefreshTokens(trx, userId, now);
  await trx.deleteFrom('account_tokens').where('user_id', '=', userId).execute();
  await trx.deleteFrom('idempotency_keys').where('scope', '=', userId).execute();
  await mail.eraseUser(trx, userId);
}

async function anotherAdminExists(db: Executor, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('id', '!=', userId)
    .where('disabled_at', 'is', null)
    .where('deleted_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** DELETE /admin/users/:id, in one transaction; the caller closes the sockets after commit. */
async function eraseAsAdmin(db: Db, mail: MailQueue, now: Date, actor: Actor, userId: string): Promise<void> {
  requirePermission(actor, 'delete_accounts');
  // Re-read like role changes: an admin demoted a minute ago cannot delete with a still-valid token.
  const caller = await findUserById(db, actor.id);
  if (caller === undefined) throw forbidden();
  requirePermission({ id: caller.id, role: caller.role }, 'delete_accounts');
  if (userId === actor.id) throw forbidden('Admins cannot delete their own account here: use DELETE /auth/me.');
  await db.transaction().execute(async (trx) => {
    const target = await trx
      .selectFrom('users')
      .select(['id', 'deleted_at'])
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    // A deleted account is gone: deleting it again is 404, like any unknown id.
    if (target === undefined || target.deleted_at !== null) throw notFound('User');
    await eraseAccount(trx, mail, userId, now);
  });
}

/** The actor's live account; 401 when it was deleted meanwhile. */
async function liveAccount(executor: Executor, actor: Actor): Promise<UserRow> {
  const user = await findUserById(executor, actor.id);
  if (user === undefined || user.deleted_at !== null) throw unauthorized('This account no longer exists.');
  return user;
}

/** The password check of a signed-in change, counted like a login (10 failures block for 15 minutes). */
async function checkPasswordOf(limiter: LoginLimiter, user: UserRow, password: string, ip: string): Promise<void> {
  await limiter.attempt(user.email, ip);
  if (!(await verifyPassword(user.password_hash, password))) throw wrongPassword();
  await limiter.succeeded(user.email, ip);
}

export function createProfileService({
  db,
  clock,
  limiter,
  mail,
  sessions,
  issueSession,
}: ProfileDeps): ProfileService {
  const current = liveAccount;
  const checkPassword = (user: UserRow, password: string, ip: string) => checkPasswordOf(limiter, user, password, ip);

  return {
    async updateName(actor, name) {
      await current(db, actor);
      const updated = await db
        .updateTable('users')
        .set({ name, updated_at: clock.now() })
        .where('id', '=', actor.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUserDto(updated);
    },

    async changePassword(actor, { currentPassword, newPassword }, ip) {
      const user = await current(db, actor);
      await checkPassword(user, currentPassword, ip);
      await assertNewPassword(newPassword, user.email, 'body.newPassword');
      const passwordHash = await hashPassword(newPassword);
      const now = clock.now();
      // Every refresh token goes, and this caller gets a new pair: other sessions end at their next refresh.
      return db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ password_hash: passwordHash, updated_at: now })
          .where('id', '=', user.id)
          .execute();
        await revokeAllRefreshTokens(trx, user.id, now);
        return issueSession(trx, { ...user, password_hash: passwordHash, updated_at: now });
      });
    },

    async changeEmail(actor, { email, password }, ip) {
      const user = await current(db, actor);
      await checkPassword(user, password, ip);
      if (email === user.email) throw conflict('email_unchanged', 'This is already the account’s address.');
      const other = await findUserByEmail(db, email);
      if (other !== undefined) throw conflict('email_taken', 'An account with this e-mail already exists.');
      const now = clock.now();
      // The address changes once the link mailed to it is used; until then `pendingEmail` holds it.
      return db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('users')
          .set({ pending_email: email, updated_at: now })
          .where('id', '=', user.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await queueVerification(trx, mail, updated, email, now);
        return toUserDto(updated);
      });
    },

    async deleteOwnAccount(actor, password, ip) {
      const user = await current(db, actor);
      await checkPassword(user, password, ip);
      if (user.role === 'admin' && !(await anotherAdminExists(db, user.id))) {
        throw forbidden('The last admin cannot delete their account: make another admin first.');
      }
      await db.transaction().execute((trx) => eraseAccount(trx, mail, user.id, clock.now()));
      sessions.disconnectUser(user.id);
    },

    async deleteAccountAsAdmin(actor, userId) {
      await eraseAsAdmin(db, mail, clock.now(), actor, userId);
      sessions.disconnectUser(userId);
    },
  };
}
