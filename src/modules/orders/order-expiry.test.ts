import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import type { Actor } from '../../shared/actor.ts';
import { manualClock } from '../../shared/clock.ts';
import { newId } from '../../shared/ids.ts';
import { expireBatch, expireOrders } from './order-expiry.ts';
import { placeOrder } from './orders.place.ts';
import { cancelOrder, type OrdersDeps } from './orders.service.ts';
import { transitionOrder } from './orders.transition.ts';

const TTL_SECONDS = 60;

describe('order expiry', () => {
  let t: TestDatabase;
  const clock = manualClock(new Date('2026-04-01T12:00:00Z'));
  const customer: Actor = { id: 'usr_expiry_customer', role: 'customer' };
  let deps: OrdersDeps;

  before(async () => {
    t = await createTestDatabase();
    deps = { db: t.database.db, clock, orderTtlSeconds: TTL_SECONDS, hooks: {} };
    await t.database.db
      .insertInto('users')
      .values({ id: customer.id, email: 'expiry@example.test', name: 'E', password_hash: 'x', role: 'customer' })
      .execute();
  });
  after(() => t.drop());

  async function product(stock: number): Promise<string> {
    const id = newId('prd');
    await t.database.db
      .insertInto('products')
      .values({ id, sku: id, name: 'P', description: null, price_amount: 500, currency: 'usd', stock })
      .execute();
    return id;
  }
  const stockOf = async (id: string) =>
    (await t.database.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;
  const statusOf = async (id: string) =>
    (await t.database.db.selectFrom('orders').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  async function orders(productId: string, n: number, quantity = 1): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1) {
      ids.push((await placeOrder(deps, customer, { items: [{ productId, quantity }] })).id);
    }
    return ids;
  }
  const later = (seconds: number) => new Date(clock.now().getTime() + seconds * 1000);

  it('cancels unpaid orders past expiresAt, releases their stock once, and records why', async () => {
    const p = await product(10);
    const [o1, o2] = await orders(p, 2, 2);
    const paid = (await orders(p, 1, 1))[0]!;
    await t.database.db
      .transaction()
      .execute((trx) => transitionOrder(trx, paid, 'PAID', { actor: { system: 'payments' }, at: clock.now() }));
    assert.equal(await stockOf(p), 5);

    assert.equal(await expireOrders({ db: t.database.db }, later(TTL_SECONDS - 1)), 0, 'not yet expired');
    const expiredAt = later(TTL_SECONDS + 1);
    assert.equal(await expireOrders({ db: t.database.db }, expiredAt), 2);
    assert.equal(await statusOf(o1!), 'CANCELLED');
    assert.equal(await statusOf(o2!), 'CANCELLED');
    assert.equal(await statusOf(paid), 'PAID', 'a paid order never expires');
    assert.equal(await stockOf(p), 9);

    assert.equal(await expireOrders({ db: t.database.db }, later(TTL_SECONDS * 10)), 0, 'nothing twice');
    assert.equal(await stockOf(p), 9);

    const order = await t.database.db.selectFrom('orders').selectAll().where('id', '=', o1!).executeTakeFirstOrThrow();
    assert.equal(order.cancellation_reason, 'expired');
    assert.equal(order.cancelled_at?.toISOString(), expiredAt.toISOString());
    const events = await t.database.db
      .selectFrom('order_events')
      .selectAll()
      .where('order_id', '=', o1!)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      events.map((e) => [e.type, e.from_status, e.to_status, e.actor, e.reason]),
      [
        ['order.created', null, 'CREATED', customer.id, null],
        ['order.expired', 'CREATED', 'CANCELLED', 'system:expiry', 'expired'],
      ],
    );
    const messages = await t.database.db
      .selectFrom('outbox')
      .select('payload')
      .where('user_id', '=', customer.id)
      .execute();
    assert.ok(
      messages.some((m) => {
        const payload = m.payload as { orderId: string; status: string };
        return payload.orderId === o1 && payload.status === 'CANCELLED';
      }),
    );
  });

  it('when two expiry runs race (in small batches), every order is cancelled once and stock is exact', async () => {
    const p = await product(40);
    const ids = await orders(p, 12, 2);
    assert.equal(await stockOf(p), 16);
    const when = later(TTL_SECONDS + 1);
    const counts = await Promise.all([
      expireOrders({ db: t.database.db, batchSize: 3 }, when),
      expireOrders({ db: t.database.db, batchSize: 3 }, when),
    ]);
    // The advisory lock may make one run skip; either way the orders are done once.
    assert.ok(counts[0] + counts[1] <= 12);
    await expireOrders({ db: t.database.db }, when);
    for (const id of ids) assert.equal(await statusOf(id), 'CANCELLED');
    assert.equal(await stockOf(p), 40);
  });

  it('two batches claimed at once (SKIP LOCKED, no advisory lock) are disjoint', async () => {
    const p = await product(20);
    const ids = await orders(p, 8);
    const when = later(TTL_SECONDS + 1);
    const batch = () => t.database.db.transaction().execute((trx) => expireBatch(trx, when, 5));
    const [a, b] = await Promise.all([batch(), batch()]);
    const claimed = [...a, ...b];
    assert.equal(new Set(claimed).size, claimed.length, 'no order in both batches');
    await expireOrders({ db: t.database.db }, when);
    for (const id of ids) assert.equal(await statusOf(id), 'CANCELLED');
    assert.equal(await stockOf(p), 20);
  });

  it('when the owner cancels while expiry runs, the stock is released once', async () => {
    const p = await product(10);
    const [id] = await orders(p, 1, 3);
    const results = await Promise.allSettled([
      cancelOrder(deps, customer, id!, 'changed my mind'),
      expireOrders({ db: t.database.db }, later(TTL_SECONDS + 1)),
    ]);
    const cancel = results[0];
    if (cancel.status === 'rejected') assert.equal((cancel.reason as { code: string }).code, 'invalid_transition');
    assert.equal(await statusOf(id!), 'CANCELLED');
    assert.equal(await stockOf(p), 10);
    const events = await t.database.db
      .selectFrom('order_events')
      .select('to_status')
      .where('order_id', '=', id!)
      .execute();
    assert.equal(events.filter((e) => e.to_status === 'CANCELLED').length, 1);
  });
});
