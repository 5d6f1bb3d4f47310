import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import { createLogger } from '../../observability/logger.ts';
import { manualClock } from '../../shared/clock.ts';
import { newId } from '../../shared/ids.ts';
import { placeOrder } from '../orders/index.ts';
import { startWorkerJobs } from './worker.ts';

describe('worker jobs', () => {
  let t: TestDatabase;
  const clock = manualClock(new Date('2026-05-01T00:00:00Z'));
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  it('the expiry job cancels an unpaid order once its TTL has passed and gives the stock back', async () => {
    const { db } = t.database;
    const user = { id: 'usr_worker', role: 'customer' as const };
    await db
      .insertInto('users')
      .values({ id: user.id, email: 'w@example.test', name: 'W', password_hash: 'x', role: 'customer' })
      .execute();
    const productId = newId('prd');
    await db
      .insertInto('products')
      .values({
        id: productId,
        sku: productId,
        name: 'P',
        description: null,
        price_amount: 1,
        currency: 'jpy',
        stock: 5,
      })
      .execute();
    const order = await placeOrder({ db, clock, orderTtlSeconds: 60, hooks: {} }, user, {
      items: [{ productId, quantity: 5 }],
    });
    const worker = startWorkerJobs({
      db,
      clock,
      logger: createLogger('silent'),
      intervals: { orderExpiryMs: 3_600_000 },
    });
    try {
      const expiry = worker.jobs.find((j) => j.name === 'orders.expire')!;
      await expiry.tick();
      assert.equal(
        (await db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow()).status,
        'CREATED',
      );
      clock.advance(61_000);
      await expiry.tick();
      assert.equal(
        (await db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow()).status,
        'CANCELLED',
      );
      const product = await db
        .selectFrom('products')
        .select('stock')
        .where('id', '=', productId)
        .executeTakeFirstOrThrow();
      assert.equal(product.stock, 5);
    } finally {
      await worker.stop();
    }
  });

  it('the retention job deletes idempotency keys older than 24 hours', async () => {
    const { db } = t.database;
    const old = new Date(clock.now().getTime() - 25 * 3600_000);
    const young = new Date(clock.now().getTime() - 23 * 3600_000);
    for (const [key, at] of [
      ['old', old],
      ['young', young],
    ] as const) {
      await db
        .insertInto('idempotency_keys')
        .values({
          scope: 'usr_worker',
          key,
          method: 'POST',
          route: '/api/v1/orders',
          fingerprint: 'f',
          state: 'done',
          response_status: 201,
          response_body: '{}',
          locked_until: null,
          lease_id: null,
          created_at: at,
          updated_at: at,
        })
        .execute();
    }
    const worker = startWorkerJobs({ db, clock, logger: createLogger('silent') });
    try {
      await worker.jobs.find((j) => j.name === 'retention')!.tick();
    } finally {
      await worker.stop();
    }
    const left = await db.selectFrom('idempotency_keys').select('key').where('scope', '=', 'usr_worker').execute();
    assert.deepEqual(
      left.map((r) => r.key),
      ['young'],
    );
  });
});
