import { sql, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { RefreshTokensTable } from '../../db/schema.ts';

export type RefreshTokenRow = Selectable<RefreshTokensTable>;

export async function insertRefreshToken(
  db: Executor,
  token: { id: string; userId: string; familyId: string; tokenHash: string; now: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      id: token.id,
      user_id: token.userId,
      family_id: token.familyId,
      token_hash: token.tokenHash,
      created_at: token.now,
      expires_at: token.expiresAt,
    })
    .execute();
}

export async function findRefreshTokenByHash(db: Executor, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/**
 * Spends a token. Guarded so that of two concurrent refreshes of one token only one row update
 * succeeds (the loser waits on the row lock, then sees used_at set), and so that a token of a family
 * revoked meanwhile cannot be spent. Returns false when the token was not spendable.
 */
export async function spendRefreshToken(db: Executor, id: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('refresh_tokens as t')
    .set({ used_at: now })
    .where('t.id', '=', id)
    .where('t.used_at', 'is', null)
    .where('t.revoked_at', 'is', null)
    .where('t.expires_at', '>', now)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('refresh_tokens as f')
            .select(sql<number>`1`.as('one'))
            .whereRef('f.family_id', '=', 't.family_id')
            .where('f.revoked_at', 'is not', null),
        ),
      ),
    )
    .returning('t.id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Revokes every token of a family, spent ones included, so the family itself is marked revoked. */
export async function revokeFamily(db: Executor, familyId: string, now: Date): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function isFamilyRevoked(db: Executor, familyId: string): Promise<boolean> {
  const row = await db
    .selectFrom('refresh_tokens')
    .select('id')
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is not', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
