import { timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import type { Clock } from '../../shared/clock.ts';
import { conflict, forbidden } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { SessionDto } from './auth.schemas.ts';
import type { SessionIssuer } from './auth.service.ts';
import { hashPassword } from './password.ts';
import { hashToken, newOpaqueToken } from './tokens.ts';
import { insertUser, isEmailTaken } from './users.repository.ts';

/**
 * The first admin of a fresh install, without stopping the server: at start, while no admin exists, a
 * one-time setup token is made and printed in the start banner only (main.ts); this row keeps its SHA-256
 * and expiry. `POST /api/v1/setup` with it creates the admin and deletes the row. Each start replaces the
 * row, so a token printed by an earlier start stops working.
 */
export const SETUP_TOKEN_KEY = 'auth.admin_setup';
export const SETUP_TOKEN_TTL_MS = 60 * 60 * 1000;

interface StoredToken {
  hash: string;
  expiresAt: string;
}

/** Setting up, issuing a token and the check under it are serialised across processes. */
async function lockSetup(trx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('fulcrum.admin_setup'))`.execute(trx);
}

export async function adminExists(db: Executor): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * At start: a new token when no admin exists (replacing any earlier one), or undefined and no token left
 * behind when one does. The token itself is returned once, for the banner, and stored nowhere.
 */
export async function issueSetupToken(db: Db, clock: Clock): Promise<{ token: string; expiresAt: Date } | undefined> {
  return db.transaction().execute(async (trx) => {
    await lockSetup(trx);
    if (await adminExists(trx)) {
      await trx.deleteFrom('job_state').where('key', '=', SETUP_TOKEN_KEY).execute();
      return undefined;
    }
    const token = newOpaqueToken();
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + SETUP_TOKEN_TTL_MS);
    const value = JSON.stringify({ hash: hashToken(token), expiresAt: expiresAt.toISOString() } satisfies StoredToken);
    await trx
      .insertInto('job_state')
      .values({ key: SETUP_TOKEN_KEY, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
    return { token, expiresAt };
  });
}

export interface SetupInput {
  token: string;
  email: string;
  password: string;
  name: string;
}

export interface SetupService {
  /** True while no admin exists. */
  needed(): Promise<boolean>;
  /** Creates the first admin and signs it in; 409 setup_done once an admin exists, 403 for a bad token. */
  complete(input: SetupInput): Promise<SessionDto>;
}

const setupDone = () =>
  conflict('setup_done', 'An admin exists already, so there is nothing to set up: log in at /admin.');
const badToken = () =>
  forbidden(
    'This setup token is not valid: it is wrong, was used, expired (after 1 hour), or was replaced when Fulcrum ' +
      'restarted. Restart Fulcrum and open the setup link of the new start banner.',
  );

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createSetupService(deps: { db: Db; clock: Clock; issueSession: SessionIssuer }): SetupService {
  const { db, clock, issueSession } = deps;

  /** Throws unless setup may go ahead with this token. */
  async function check(executor: Executor, token: string): Promise<void> {
    if (await adminExists(executor)) throw setupDone();
    const row = await executor
      .selectFrom('job_state')
      .select('value')
      .where('key', '=', SETUP_TOKEN_KEY)
      .executeTakeFirst();
    const stored = row?.value as Partial<StoredToken> | undefined;
    if (typeof stored?.hash !== 'string' || typeof stored.expiresAt !== 'string') throw badToken();
    if (!sameHash(stored.hash, hashToken(token))) throw badToken();
    if (!(clock.now().getTime() < Date.parse(stored.expiresAt))) throw badToken();
  }

  return {
    async needed() {
      return !(await adminExists(db));
    },

    async complete({ token, email, password, name }) {
      // A refused caller costs no password hashing; the same checks run again under the lock below.
      await check(db, token);
      const passwordHash = await hashPassword(password);
      try {
        return await db.transaction().execute(async (trx) => {
          await lockSetup(trx);
          await check(trx, token);
          // Spent: the row goes in the same transaction that creates the admin.
          await trx.deleteFrom('job_state').where('key', '=', SETUP_TOKEN_KEY).execute();
          const user = await insertUser(trx, {
            id: newId('usr'),
            email,
            name,
            passwordHash,
            role: 'admin',
            now: clock.now(),
          });
          return issueSession(trx, user);
        });
      } catch (error) {
        if (isEmailTaken(error)) throw conflict('email_taken', 'An account with this e-mail already exists.');
        throw error;
      }
    },
  };
}
