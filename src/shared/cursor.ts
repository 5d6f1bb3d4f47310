import { invalid } from './errors.ts';

/** Position in a list sorted by (created_at desc, id desc): the last row of the previous page. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

/** Opaque to clients: base64url of `[createdAt ISO, id]`. Rows are written with millisecond timestamps, so nothing is lost. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

/** Decodes a client's cursor; anything we did not make is 400 validation_failed. */
export function decodeCursor(text: string): Cursor {
  const bad = invalid([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad;
  const [at, id] = parsed as unknown[];
  // Only what encodeCursor writes: an id of letters, digits and `_`, and a four-digit year. A forged one with a
  // date PostgreSQL cannot hold (`-271821-…`, `+010000-…`, year 0) or a NUL in the id would fail in the query.
  if (typeof at !== 'string' || typeof id !== 'string' || !/^\w{1,64}$/.test(id)) throw bad;
  if (!/^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(at)) throw bad;
  const createdAt = new Date(at);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) throw bad;
  return { createdAt, id };
}

/** Splits `limit + 1` fetched rows into the page and the cursor of the next one; `at` names the row's timestamp. */
export function pageOf<T extends { id: string } & Record<K, Date>, K extends string = 'created_at'>(
  rows: T[],
  limit: number,
  at: K = 'created_at' as K,
): { rows: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const page = rows.slice(0, limit);
  const last = page[page.length - 1]!;
  return { rows: page, nextCursor: encodeCursor({ createdAt: last[at], id: last.id }) };
}
