import type { Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { Role, UsersTable } from '../../db/schema.ts';

export type UserRow = Selectable<UsersTable>;

export interface NewUser {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  now: Date;
}

/** The one INSERT of a user's row; the two functions below finish it. */
function userInsert(db: Executor, user: NewUser) {
  return db.insertInto('users').values({
    id: user.id,
    email: user.email,
    name: user.name,
    password_hash: user.passwordHash,
    role: user.role,
    created_at: user.now,
    updated_at: user.now,
  });
}

/** Inserts a user; a taken e-mail surfaces as a unique violation of users_email_key (see isEmailTaken). */
export async function insertUser(db: Executor, user: NewUser): Promise<UserRow> {
  return userInsert(db, user).returningAll().executeTakeFirstOrThrow();
}

/** Same as insertUser, but an existing e-mail is left untouched and undefined comes back. */
export async function insertUserIfAbsent(db: Executor, user: NewUser): Promise<UserRow | undefined> {
  return userInsert(db, user)
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** `email` must already be normalised (trimmed, lower case); the unique index is on lower(email). */
export async function findUserByEmail(db: Executor, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email))
    .executeTakeFirst();
}

export async function findUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateUserRole(db: Executor, id: string, role: Role, now: Date): Promise<UserRow | undefined> {
  return db.updateTable('users').set({ role, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function updatePasswordHash(db: Executor, id: string, passwordHash: string, now: Date): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
}

/** pg and PGlite both report SQLSTATE 23505 with the constraint name. */
export function isEmailTaken(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && e.constraint === 'users_email_key';
}
