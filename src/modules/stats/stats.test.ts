import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { createProduct, markPaid, placeOrder, type TestProduct } from '../../../test/shop.ts';

type User = Awaited<ReturnType<typeof createUser>>;

/** A clock the test sets: the stats' "today" and "last hour" are read from it. */
function fixedClock(iso: string) {
  let now = new Date(iso).getTime();
  return { now: () => new Date(now), set: (value: string) => (now = new Date(value).getTime()) };
}

describe('GET /api/v1/admin/stats: the dashboard home', () => {
  let app: TestApp;
  let admin: User;
  let support: User;
  let alice: User;
  let usd: TestProduct;
  let eur: TestProduct;
  const clock = fixedClock('2026-03-05T10:30:20.000Z');

  async function order(product: TestProduct, createdAt: string, quantity = 1): Promise<string> {
    const res = await placeOrder(app, alice.token, { items: [{ productId: product.id, quantity }] });
    assert.equal(res.status, 201);
    await app.database.db
      .updateTable('orders')
      .set({ created_at: new Date(createdAt) })
      .where('id', '=', res.body.id)
      .execute();
    return res.body.id as string;
  }

  async function inbox(status: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await app.database.db
        .insertInto('webhook_inbox')
        .values({
          id: `whk_stats_${status}_${i}`,
          provider: 'stripe',
          event_id: `evt_stats_${status}_${i}`,
          type: 'checkout.session.completed',
          payload: JSON.stringify({}),
          status,
          next_attempt_at: new Date('2026-03-05T11:00:00Z'),
          received_at: new Date('2026-03-05T10:00:00Z'),
        } as never)
        .execute();
    }
  }

  before(async () => {
    app = await startTestApp({ clock });
    admin = await createUser(app, 'admin');
    support = await createUser(app, 'support');
    alice = await createUser(app, 'customer');
    usd = await createProduct(app, admin.token, { price: { amount: 1250, currency: 'usd' } });
    eur = await createProduct(app, admin.token, { price: { amount: 900, currency: 'eur' } });
  });
  after(() => app.close());

  it('is 401 without a token and 403 for a customer', async () => {
    assert.equal((await call(app, 'GET', '/api/v1/admin/stats')).status, 401);
    const res = await call(app, 'GET', '/api/v1/admin/stats', { token: alice.token });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'forbidden');
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  });

  it('an empty shop: zeros, and 60 empty minutes ending with the current one', async () => {
    const res = await call(app, 'GET', '/api/v1/admin/stats', { token: support.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.at, '2026-03-05T10:30:20.000Z');
    assert.deepEqual(res.body.today, { since: '2026-03-05T00:00:00.000Z', orders: 0, revenue: [] });
    assert.equal(res.body.flaggedPayments, 0);
    assert.deepEqual(res.body.webhookInbox, { pending: 0, failed: 0, dead: 0 });
    assert.equal(res.body.ordersPerMinute.length, 60);
    assert.equal(res.body.ordersPerMinute[0].minute, '2026-03-05T09:31:00.000Z');
    assert.equal(res.body.ordersPerMinute[59].minute, '2026-03-05T10:30:00.000Z');
    assert.ok(res.body.ordersPerMinute.every((m: { orders: number }) => m.orders === 0));
  });

  it('counts today’s orders, the revenue of the paid ones per currency, orders per minute and the inbox', async () => {
    await order(usd, '2026-03-04T23:59:59.000Z'); // yesterday: not today, not in the hour
    await order(usd, '2026-03-05T09:30:59.000Z'); // today, but before the hour's first minute
    const paid = await order(usd, '2026-03-05T10:29:10.000Z', 2);
    await markPaid(app, paid);
    await app.database.db.updateTable('orders').set({ refunded_amount: 500 }).where('id', '=', paid).execute();
    await order(usd, '2026-03-05T10:29:50.000Z');
    const paidEur = await order(eur, '2026-03-05T10:30:01.000Z');
    await markPaid(app, paidEur);
    await order(eur, '2026-03-05T09:31:00.000Z');
    await inbox('pending', 2);
    await inbox('failed', 1);
    await inbox('dead', 3);
    await inbox('processed', 4);

    const res = await call(app, 'GET', '/api/v1/admin/stats', { token: admin.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.today.orders, 5);
    assert.deepEqual(res.body.today.revenue, [
      { amount: 900, currency: 'eur' },
      { amount: 2000, currency: 'usd' },
    ]);
    assert.deepEqual(res.body.webhookInbox, { pending: 2, failed: 1, dead: 3 });
    const perMinute = Object.fromEntries(
      res.body.ordersPerMinute
        .filter((m: { orders: number }) => m.orders > 0)
        .map((m: { minute: string; orders: number }) => [m.minute, m.orders]),
    );
    assert.deepEqual(perMinute, {
      '2026-03-05T09:31:00.000Z': 1,
      '2026-03-05T10:29:00.000Z': 2,
      '2026-03-05T10:30:00.000Z': 1,
    });
  });

  it('counts payments waiting for an admin as flagged', async () => {
    const orderId = await order(usd, '2026-03-05T10:00:00.000Z');
    await app.database.db
      .insertInto('payments')
      .values({
        id: 'pay_stats_flagged',
        order_id: orderId,
        user_id: alice.id,
        provider: 'manual',
        status: 'PENDING',
        amount: 1250,
        currency: 'usd',
        flagged_reason: 'amount_mismatch',
      } as never)
      .execute();
    const res = await call(app, 'GET', '/api/v1/admin/stats', { token: admin.token });
    assert.equal(res.body.flaggedPayments, 1);
  });

  it('is listed in /openapi.json', async () => {
    const res = await call(app, 'GET', '/openapi.json');
    assert.ok(res.body.paths['/api/v1/admin/stats']?.get);
  });
});
