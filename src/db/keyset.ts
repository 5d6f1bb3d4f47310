import { sql, type SelectQueryBuilder } from 'kysely';
import { pageOf, type Cursor } from '../shared/cursor.ts';

/** What a list is sorted by, newest first: a timestamp column, then `id` to break ties. */
export interface Keyset {
  /** The timestamp column: `created_at` for most lists, `received_at` for the webhook inbox. */
  at: 'created_at' | 'received_at';
  /** The last row of the previous page (decodeCursor), or undefined for the first page. */
  after: Cursor | undefined;
  /** The page size; the query fetches one row more, so keysetPage knows whether another page follows. */
  limit: number;
}

/**
 * Every list's keyset: `order by <at> desc, id desc limit limit + 1`, and with a cursor only the rows after it,
 * as one row comparison `(<at>, id) < (cursor)`, which a btree index ending in (<at>, id) serves as a range.
 * Filters are the caller's own; they and this go in the same where, so the list's index use is unchanged.
 */
export function newestFirst<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keyset: Keyset,
): SelectQueryBuilder<DB, TB, O> {
  const at = sql.ref(keyset.at);
  let q = query
    .orderBy(at, 'desc')
    .orderBy(sql.ref('id'), 'desc')
    .limit(keyset.limit + 1);
  const after = keyset.after;
  if (after !== undefined) q = q.where(sql<boolean>`(${at}, ${sql.ref('id')}) < (${after.createdAt}, ${after.id})`);
  return q;
}

/** A page of rows and the cursor of the next one (null on the last page). */
export interface Page<T> {
  rows: T[];
  nextCursor: string | null;
}

/** newestFirst, run, and cut into a page: a list in one call. */
export async function keysetPage<
  DB,
  TB extends keyof DB,
  O extends { id: string } & Record<K, Date>,
  K extends Keyset['at'],
>(query: SelectQueryBuilder<DB, TB, O>, keyset: Keyset & { at: K }): Promise<Page<O>> {
  return pageOf(await newestFirst(query, keyset).execute(), keyset.limit, keyset.at);
}
