import type { Db } from '../../db/database.ts';
import type { Role } from '../../db/schema.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { systemClock } from '../../shared/clock.ts';
import { forbidden, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { emailSchema, newPasswordSchema, toUserDto, type UserDto } from './auth.schemas.ts';
import { hashPassword } from './password.ts';
import { passwordProblem } from './password-policy.ts';
import { requirePermission } from '../../shared/permissions.ts';
import { findUserByEmail, findUserById, insertUserIfAbsent, updateUserRole } from './users.repository.ts';

/**
 * PATCH /admin/users/:id. Admins only; the caller's role is read again from the database, so an admin
 * demoted a minute ago cannot use a still-valid access token to hand out roles. Admins may not change
 * their own role (so the last admin cannot lock everyone out by accident); another admin can.
 */
export async function changeUserRole(db: Db, clock: Clock, actor: Actor, userId: string, role: Role): Promise<UserDto> {
  requirePermission(actor, 'change_roles');
  const current = await findUserById(db, actor.id);
  if (current === undefined) throw forbidden();
  requirePermission({ id: current.id, role: current.role }, 'change_roles');
  const target = await findUserById(db, userId);
  if (target === undefined) throw notFound('User');
  if (target.id === actor.id && target.role !== role) throw forbidden('Admins cannot change their own role.');
  if (target.role === role) return toUserDto(target);
  const updated = await updateUserRole(db, userId, role, clock.now());
  if (updated === undefined) throw notFound('User');
  return toUserDto(updated);
}

async function checkedCredentials(email: string, password: string): Promise<{ email: string; password: string }> {
  const parsedEmail = emailSchema.safeParse(email);
  if (!parsedEmail.success) throw new Error(`invalid admin e-mail: ${email}`);
  const parsedPassword = newPasswordSchema.safeParse(password);
  if (!parsedPassword.success) throw new Error('the admin password must be 12–128 characters');
  const problem = await passwordProblem(parsedPassword.data, { email: parsedEmail.data });
  if (problem !== undefined) throw new Error(`the admin password ${problem}`);
  return { email: parsedEmail.data, password: parsedPassword.data };
}

const adminName = (email: string): string => email.split('@')[0] ?? 'Administrator';

/**
 * The first admin from FULCRUM_ADMIN_EMAIL/FULCRUM_ADMIN_PASSWORD: created when no account has that
 * e-mail; an existing account is never overwritten (neither password nor role). Safe when several
 * processes start at once: the insert does nothing on a conflict.
 */
export async function ensureAdmin(
  db: Db,
  email: string,
  password: string,
  clock: Clock = systemClock,
): Promise<{ created: boolean; user: UserDto }> {
  const credentials = await checkedCredentials(email, password);
  const existing = await findUserByEmail(db, credentials.email);
  if (existing !== undefined) return { created: false, user: toUserDto(existing) };
  const inserted = await insertUserIfAbsent(db, {
    id: newId('usr'),
    email: credentials.email,
    name: adminName(credentials.email),
    passwordHash: await hashPassword(credentials.password),
    role: 'admin',
    now: clock.now(),
  });
  if (inserted !== undefined) return { created: true, user: toUserDto(inserted) };
  const raced = await findUserByEmail(db, credentials.email);
  if (raced === undefined) throw new Error('admin insert conflicted but no user was found');
  return { created: false, user: toUserDto(raced) };
}

/**
 * `cli create-admin`: creates an admin with this password, or, when the e-mail already has an account,
 * promotes it to admin and leaves its password as it is (an operator with database access decides;
 * a forgotten password is not reset through this path).
 */
export async function createOrPromoteAdmin(
  db: Db,
  email: string,
  password: string,
  clock: Clock = systemClock,
): Promise<{ outcome: 'created' | 'promoted' | 'already_admin'; user: UserDto }> {
  const credentials = await checkedCredentials(email, password);
  const { created, user } = await ensureAdmin(db, credentials.email, credentials.password, clock);
  if (created) return { outcome: 'created', user };
  if (user.role === 'admin') return { outcome: 'already_admin', user };
  const promoted = await updateUserRole(db, user.id, 'admin', clock.now());
  if (promoted === undefined) throw new Error('the user disappeared while being promoted');
  return { outcome: 'promoted', user: toUserDto(promoted) };
}
