import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expireOrders } from '../src/modules/orders/index.ts';
import { call, createUser, startTestApp, type TestApp } from './helpers.ts';
import { createProduct, placeOrder, stockOf } from './shop.ts';

type User = Awaited<ReturnType<typeof createUser>>;

describe('orders under concurrency', () => {
  let app: TestApp;
  let admin: User;
  let customers: User[];
  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    customers = await Promise.all(Array.from({ length: 10 }, () => createUser(app, 'customer')));
  });
  after(() => app.close());

  const ordersOf = async (productId: string) =>
    app.database.db
      .selectFrom('order_items')
      .innerJoin('orders', 'orders.id', 'order_items.order_id')
      .select(['orders.id', 'order_items.quantity'])
      .where('order_items.product_id', '=', productId)
      .execute();

  it('when 50 single-unit orders race for 5 units, exactly 5 succeed and stock ends at 0', async () => {
    const product = await createProduct(app, admin.token, { stock: 5 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        placeOrder(app, customers[i % customers.length]!.token, { items: [{ productId: product.id, quantity: 1 }] }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 409).length, 45);
    for (const r of results.filter((x) => x.status === 409)) {
      assert.equal(r.body.code, 'insufficient_stock');
      assert.deepEqual(r.body.productIds, [product.id]);
    }
    assert.equal(await stockOf(app, product.id), 0);
    assert.equal((await ordersOf(product.id)).length, 5);
  });

  it('when orders over the same products in opposite line order race, none deadlocks and stock adds up', async () => {
    const a = await createProduct(app, admin.token, { stock: 30 });
    const b = await createProduct(app, admin.token, { stock: 30 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const lines = [
          { productId: a.id, quantity: 1 },
          { productId: b.id, quantity: 2 },
        ];
        return placeOrder(app, customers[i % customers.length]!.token, {
          items: i % 2 === 0 ? lines : lines.reverse(),
        });
      }),
    );
    const created = results.filter((r) => r.status === 201).length;
    assert.ok(
      results.every((r) => r.status === 201 || r.status === 409),
      results.map((r) => r.status).join(','),
    );
    assert.equal(created, 15, 'b runs out after 15 orders of 2');
    assert.equal(await stockOf(app, a.id), 30 - created);
    assert.equal(await stockOf(app, b.id), 30 - 2 * created);
  });

  it('when 20 identical requests share one Idempotency-Key, one order is made and stock is taken once', async () => {
    const product = await createProduct(app, admin.token, { stock: 100 });
    const [alice] = customers;
    const body = { items: [{ productId: product.id, quantity: 3 }] };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => placeOrder(app, alice!.token, body, 'same-key')),
    );
    const created = results.filter((r) => r.status === 201);
    const busy = results.filter((r) => r.status === 409);
    assert.equal(created.length + busy.length, 20, results.map((r) => r.status).join(','));
    assert.ok(created.length >= 1);
    for (const r of busy) assert.equal(r.body.code, 'idempotency_request_in_progress');
    assert.equal(new Set(created.map((r) => r.body.id)).size, 1, 'every 201 is the same order');
    assert.equal(
      created.filter((r) => r.headers.get('idempotent-replayed') !== 'true').length,
      1,
      'exactly one response is the original',
    );
    assert.equal((await ordersOf(product.id)).length, 1);
    assert.equal(await stockOf(app, product.id), 97);
    // After the dust settles, a retry is a replay of that order.
    const retry = await placeOrder(app, alice!.token, body, 'same-key');
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.id, created[0]!.body.id);
  });

  it('when a customer cancels the same order many times at once, stock is released once', async () => {
    const product = await createProduct(app, admin.token, { stock: 10 });
    const [alice] = customers;
    const placed = await placeOrder(app, alice!.token, { items: [{ productId: product.id, quantity: 4 }] });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(app, 'POST', `/api/v1/orders/${placed.body.id}/cancel`, { token: alice!.token, body: {} }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.ok(results.every((r) => r.status === 200 || r.body.code === 'invalid_transition'));
    assert.equal(await stockOf(app, product.id), 10);
  });

  it('when expiry releases many orders while new orders are placed, nothing deadlocks and stock adds up', async () => {
    const a = await createProduct(app, admin.token, { stock: 1000 });
    const b = await createProduct(app, admin.token, { stock: 1000 });
    const token = (i: number) => customers[i % customers.length]!.token;
    // Single-product orders alternating B and A: one expiry batch releases B, then A, then B…
    for (let i = 0; i < 20; i += 1) {
      const productId = i % 2 === 0 ? b.id : a.id;
      assert.equal((await placeOrder(app, token(i), { items: [{ productId, quantity: 1 }] })).status, 201);
    }
    const future = new Date(Date.now() + 2 * app.config.ORDER_TTL_SECONDS * 1000);
    const [expired, ...placed] = await Promise.all([
      expireOrders({ db: app.database.db, batchSize: 20 }, future),
      ...Array.from({ length: 20 }, (_, i) =>
        placeOrder(app, token(i), {
          items: [
            { productId: a.id, quantity: 1 },
            { productId: b.id, quantity: 1 },
          ],
        }),
      ),
    ]);
    assert.ok(expired >= 20);
    assert.deepEqual(
      placed.map((r) => r.status),
      placed.map(() => 201),
    );
    const live = await app.database.db
      .selectFrom('order_items')
      .innerJoin('orders', 'orders.id', 'order_items.order_id')
      .select(['order_items.product_id', 'order_items.quantity'])
      .where('orders.status', '!=', 'CANCELLED')
      .where('order_items.product_id', 'in', [a.id, b.id])
      .execute();
    const reserved = (id: string) => live.filter((l) => l.product_id === id).reduce((n, l) => n + l.quantity, 0);
    assert.equal(await stockOf(app, a.id), 1000 - reserved(a.id));
    assert.equal(await stockOf(app, b.id), 1000 - reserved(b.id));
  });
});
