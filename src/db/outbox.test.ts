import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import { numberEvents } from '../modules/realtime/index.ts';
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
  const eventIdOf = async (id: number) =>
    (await t.database.db.selectFrom('outbox').select('event_id').where('id', '=', id).executeTakeFirstOrThrow())
      .event_id;

  it('a message is written without an eventId; the relay’s numbering gives each user 1, 2, 3… on its own', async () => {
    const { db } = t.database;
    const a1 = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_a', ...message('ord_1') }));
    const b1 = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_b', ...message('ord_2') }));
    assert.equal(await eventIdOf(a1.id), null);
    assert.equal(await numberEvents(db, 100), 2);
    const a2 = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_a', ...message('ord_1') }));
    assert.equal(await numberEvents(db, 100), 1);
    assert.deepEqual([await eventIdOf(a1.id), await eventIdOf(b1.id), await eventIdOf(a2.id)], [1, 1, 2]);
    // Numbered rows are not numbered again.
    assert.equal(await numberEvents(db, 100), 0);
    const row = await db.selectFrom('outbox').selectAll().where('id', '=', a2.id).executeTakeFirstOrThrow();
    assert.equal(row.type, 'order.updated');
    assert.deepEqual((row.payload as { orderId: string }).orderId, 'ord_1');
    assert.equal(row.published_at, null);
  });

  it('one user’s racing transactions are numbered 1..N without gaps or duplicates', async () => {
    const { db } = t.database;
    const n = 30;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_race', ...message(`ord_${i}`) })),
      ),
    );
    // In batches smaller than the backlog: numbering carries on from the user's counter.
    while ((await numberEvents(db, 7)) > 0) continue;
    const ids = (await Promise.all(results.map((r) => eventIdOf(r.id)))).map(Number).sort((x, y) => x - y);
    assert.deepEqual(
      ids,
      Array.from({ length: n }, (_, i) => i + 1),
    );
    // Per user, numbers follow row id order within the backlog.
    const rows = await db
      .selectFrom('outbox')
      .select(['id', 'event_id'])
      .where('user_id', '=', 'usr_race')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => Number(r.event_id)),
      Array.from({ length: n }, (_, i) => i + 1),
    );
  });

  it('a rolled-back transaction leaves no message and spends no eventId', async () => {
    const { db } = t.database;
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await appendOutbox(trx, { userId: 'usr_rb', ...message('ord_x') });
        throw new Error('abort');
      }),
      /abort/,
    );
    const next = await db.transaction().execute((trx) => appendOutbox(trx, { userId: 'usr_rb', ...message('ord_y') }));
    await numberEvents(db, 100);
    assert.equal(await eventIdOf(next.id), 1);
  });
});
