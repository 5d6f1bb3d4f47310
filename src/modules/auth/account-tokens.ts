import type { Executor } from '../../db/database.ts';
import type { AccountTokensTable } from '../../db/schema.ts';
import { AppError } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { hashToken, newOpaqueToken } from './tokens.ts';

type Purpose = AccountTokensTable['purpose'];

/** A password reset link works for 30 minutes; a verification link for 24 hours. Each works once. */
export const TOKEN_TTL_MS: Record<Purpose, number> = {
  password_reset: 30 * 60_000,
  verify_email: 24 * 3600_000,
};

export const invalidToken = (detail: string): AppError => new AppError('invalid', 'invalid_token', detail);

/** A new single-use token for the user (only its SHA-256 is stored); returns its id and the token to mail. */
export async function issueAccountToken(
  db: Executor,
  input: { userId: string; purpose: Purpose; email?: string; now: Date },
): Promise<{ id: string; token: string }> {
  const id = newId('atk');
  const token = newOpaqueToken();
  await db
    .insertInto('account_tokens')
    .values({
      id,
      user_id: input.userId,
      purpose: input.purpose,
      token_hash: hashToken(token),
      email: input.email ?? null,
      created_at: input.now,
      expires_at: new Date(input.now.getTime() + TOKEN_TTL_MS[input.purpose]),
    })
    .execute();
  return { id, token };
}

/**
 * Spends a token: one guarded update, so of two requests with the same token exactly one gets the row.
 * Unknown, used, expired or of another purpose: `400 invalid_token`, saying which.
 */
export async function spendAccountToken(
  db: Executor,
  token: string,
  purpose: Purpose,
  now: Date,
): Promise<{ id: string; userId: string; email: string | null }> {
  const hash = hashToken(token);
  const row = await db
    .updateTable('account_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', hash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['id', 'user_id', 'email'])
    .executeTakeFirst();
  if (row !== undefined) return { id: row.id, userId: row.user_id, email: row.email };
  const found = await db
    .selectFrom('account_tokens')
    .select(['used_at', 'expires_at', 'purpose'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (found === undefined || found.purpose !== purpose) throw invalidToken('This link is not valid.');
  if (found.used_at !== null) throw invalidToken('This link was already used.');
  throw invalidToken('This link has expired: ask for a new one.');
}

/** Every unused token of this purpose for the user stops working (a newer one was used, the account changed). */
export async function voidAccountTokens(db: Executor, userId: string, purpose: Purpose, now: Date): Promise<void> {
  await db
    .updateTable('account_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}
