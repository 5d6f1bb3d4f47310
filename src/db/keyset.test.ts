import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { keysetPage, newestFirst, type Page } from './keyset.ts';

describe('keyset pagination (newestFirst, keysetPage)', () => {
  let t: TestDatabase;
  const base = Date.parse('2026-03-01T10:00:00.000Z');
  // Five mails: m1 oldest … m5 newest, with m3a and m3b sharing one created_at (the id breaks the tie).
  const rows: [string, number][] = [
    ['mai_k1', 0],
    ['mai_k2', 1000],
    ['mai_k3a', 2000],
    ['mai_k3b', 2000],
    ['mai_k4', 3000],
  ];
  const newestFirstIds = ['mai_k4', 'mai_k3b', 'mai_k3a', 'mai_k2', 'mai_k1'];

  before(async () => {
    t = await createTestDatabase();
    await t.database.db
      .insertInto('mails')
      .values(
        rows.map(([id, offset]) => ({
          id,
          event_key: `keyset:${id}`,
          user_id: null,
          to_address: 'keyset@example.test',
          subject: 's',
          text_body: 't',
          html_body: 'h',
          last_error: null,
          locked_until: null,
          sent_at: null,
          created_at: new Date(base + offset),
        })),
      )
      .execute();
  });
  after(() => t.drop());

  const page = (limit: number, cursor?: string | null): Promise<Page<{ id: string; created_at: Date }>> =>
    keysetPage(t.database.db.selectFrom('mails').select(['id', 'created_at']), {
      at: 'created_at',
      after: cursor === undefined || cursor === null ? undefined : decodeCursor(cursor),
      limit,
    });

  it('the first page is the newest rows, and its cursor is the last of them', async () => {
    const first = await page(2);
    assert.deepEqual(
      first.rows.map((r) => r.id),
      ['mai_k4', 'mai_k3b'],
    );
    assert.equal(first.nextCursor, encodeCursor({ createdAt: new Date(base + 2000), id: 'mai_k3b' }));
  });

  it('the next page starts right after the cursor, breaking a created_at tie by id', async () => {
    const first = await page(2);
    const second = await page(2, first.nextCursor);
    assert.deepEqual(
      second.rows.map((r) => r.id),
      ['mai_k3a', 'mai_k2'],
    );
    assert.notEqual(second.nextCursor, null);
  });

  it('the last page has nextCursor null, also when it is exactly full', async () => {
    const first = await page(2);
    const second = await page(2, first.nextCursor);
    const third = await page(2, second.nextCursor);
    assert.deepEqual(
      third.rows.map((r) => r.id),
      ['mai_k1'],
    );
    assert.equal(third.nextCursor, null);
    const all = await page(5);
    assert.deepEqual(
      all.rows.map((r) => r.id),
      newestFirstIds,
    );
    assert.equal(all.nextCursor, null);
  });

  it('a limit of 1 walks every row once, in order, through the tie', async () => {
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const p = await page(1, cursor);
      assert.ok(p.rows.length <= 1);
      seen.push(...p.rows.map((r) => r.id));
      cursor = p.nextCursor;
    } while (cursor !== null && seen.length < 10);
    assert.deepEqual(seen, newestFirstIds);
  });

  it('keeps the caller’s filters and compiles to one row comparison, newest first, limit + 1', async () => {
    const query = newestFirst(
      t.database.db.selectFrom('mails').select('id').where('to_address', '=', 'nobody@example.test'),
      { at: 'created_at', after: { createdAt: new Date(base + 2000), id: 'mai_k3b' }, limit: 3 },
    );
    const compiled = query.compile();
    assert.match(
      compiled.sql,
      /where "to_address" = \$1 and \("created_at", "id"\) < \(\$2, \$3\) order by "created_at" desc, "id" desc limit \$4$/,
    );
    assert.equal(compiled.parameters[3], 4);
    assert.deepEqual(await query.execute(), []);
  });
});
