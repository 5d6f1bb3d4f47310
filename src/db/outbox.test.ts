import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import { appendOutbox } from './outbox.ts';

describe('outbox', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  const message = (orderId: string) =>
    ({
      type: 'order.updated',
      payload: { orderId, status: 'CREATED', paymentStatus: null, at: new Date().toISOString() },
    }) as const;

  it('numbers each user’s messages 1, 2, 3… independently of other users', async () => {
    const { db } = t.database;
    const a1 = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_a', ...message('ord_1') }));
    const b1 = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_b', ...message('ord_2') }));
    const a2 = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_a', ...message('ord_1') }));
    assert.deepEqual([a1.eventId, b1.eventId, a2.eventId], [1, 1, 2]);
    const row = await db.selectFrom('outbox').selectAll().where('id', '=', a2.id).executeTakeFirstOrThrow();
    assert.equal(row.type, 'order.updated');
    assert.deepEqual((row.payload as { orderId: string }).orderId, 'ord_1');
    assert.equal(row.published_at, null);
  });

  it('when one user’s transactions race, eventIds are 1..N without gaps or duplicates', async () => {
    const { db } = t.database;
    const n = 30;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_race', ...message(`ord_${i}`) })),
      ),
    );
    const ids = results.map((r) => r.eventId).sort((x, y) => x - y);
    assert.deepEqual(
      ids,
      Array.from({ length: n }, (_, i) => i + 1),
    );
  });

  it('a rolled-back transaction leaves no message and does not spend an eventId', async () => {
    const { db } = t.database;
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await appendOutbox(trx, { userId: 'usr_rb', ...message('ord_x') });
        throw new Error('abort');
      }),
      /abort/,
    );
    const next = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_rb', ...message('ord_y') }));
    assert.equal(next.eventId, 1);
  });
});
