import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { createProduct, placeOrder, stockOf } from '../../../test/shop.ts';

type User = Awaited<ReturnType<typeof createUser>>;

describe('orders: placing', () => {
  let app: TestApp;
  let admin: User;
  let alice: User;
  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    alice = await createUser(app, 'customer');
  });
  after(() => app.close());

  it('creates an order priced from the catalog and reserves the stock', async () => {
    const mug = await createProduct(app, admin.token, { price: { amount: 1250, currency: 'usd' }, stock: 10 });
    const pen = await createProduct(app, admin.token, { price: { amount: 199, currency: 'usd' }, stock: 10 });
    const address = { name: 'Alice', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' };
    const res = await placeOrder(app, alice.token, {
      items: [
        { productId: mug.id, quantity: 2 },
        { productId: pen.id, quantity: 3 },
      ],
      shippingAddress: address,
    });
    assert.equal(res.status, 201);
    const order = res.body;
    assert.deepEqual(Object.keys(order).sort(), [
      'cancellationReason',
      'cancelledAt',
      'createdAt',
      'customer',
      'expiresAt',
      'id',
      'items',
      'paidAt',
      'payment',
      'refunded',
      'shipment',
      'shippingAddress',
      'status',
      'total',
      'updatedAt',
      'userId',
      'version',
    ]);
    assert.match(order.id, /^ord_/);
    assert.equal(order.userId, alice.id);
    assert.equal(order.status, 'CREATED');
    assert.deepEqual(order.items, [
      {
        productId: mug.id,
        sku: mug.sku,
        name: mug.name,
        quantity: 2,
        unitPrice: { amount: 1250, currency: 'usd' },
        lineTotal: { amount: 2500, currency: 'usd' },
      },
      {
        productId: pen.id,
        sku: pen.sku,
        name: pen.name,
        quantity: 3,
        unitPrice: { amount: 199, currency: 'usd' },
        lineTotal: { amount: 597, currency: 'usd' },
      },
    ]);
    assert.deepEqual(order.total, { amount: 3097, currency: 'usd' });
    assert.deepEqual(order.refunded, { amount: 0, currency: 'usd' });
    assert.equal(order.payment, null);
    assert.equal(order.shipment, null);
    assert.deepEqual(order.shippingAddress, address);
    assert.equal(Date.parse(order.expiresAt) - Date.parse(order.createdAt), app.config.ORDER_TTL_SECONDS * 1000);
    assert.equal(await stockOf(app, mug.id), 8);
    assert.equal(await stockOf(app, pen.id), 7);

    const read = await call(app, 'GET', `/api/v1/orders/${order.id}`, { token: alice.token });
    assert.deepEqual(read.body, order);
    const events = await call(app, 'GET', `/api/v1/orders/${order.id}/events`, { token: alice.token });
    assert.deepEqual(events.body, {
      data: [
        {
          seq: 1,
          type: 'order.created',
          from: null,
          to: 'CREATED',
          actor: alice.id,
          reason: null,
          at: order.createdAt,
        },
      ],
    });
    const outbox = await app.database.db.selectFrom('outbox').selectAll().where('user_id', '=', alice.id).execute();
    assert.deepEqual(
      outbox.map((m) => [m.type, m.payload]),
      [['order.updated', { orderId: order.id, status: 'CREATED', paymentStatus: null, at: order.createdAt }]],
    );
  });

  it('sums the quantities of repeated products into one line', async () => {
    const p = await createProduct(app, admin.token, { stock: 10 });
    const res = await placeOrder(app, alice.token, {
      items: [
        { productId: p.id, quantity: 2 },
        { productId: p.id, quantity: 3 },
      ],
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.items.length, 1);
    assert.equal(res.body.items[0].quantity, 5);
    assert.equal(await stockOf(app, p.id), 5);
  });

  it('reserves all or nothing: 409 insufficient_stock names the short products and takes nothing', async () => {
    const plenty = await createProduct(app, admin.token, { stock: 10 });
    const scarce = await createProduct(app, admin.token, { stock: 2 });
    const res = await placeOrder(app, alice.token, {
      items: [
        { productId: plenty.id, quantity: 5 },
        { productId: scarce.id, quantity: 2 },
        { productId: scarce.id, quantity: 1 },
      ],
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'insufficient_stock');
    assert.deepEqual(res.body.productIds, [scarce.id]);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(await stockOf(app, plenty.id), 10);
    assert.equal(await stockOf(app, scarce.id), 2);
  });

  it('answers 400 for unknown or inactive products and 422 mixed_currency', async () => {
    const usd = await createProduct(app, admin.token, { price: { amount: 100, currency: 'usd' } });
    const eur = await createProduct(app, admin.token, { price: { amount: 100, currency: 'eur' } });
    const hidden = await createProduct(app, admin.token, { active: false });
    const unknown = await placeOrder(app, alice.token, {
      items: [
        { productId: usd.id, quantity: 1 },
        { productId: 'prd_doesnotexist', quantity: 1 },
        { productId: hidden.id, quantity: 1 },
      ],
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'validation_failed');
    assert.deepEqual(
      unknown.body.errors.map((e: { path: string }) => e.path),
      ['body.items.1.productId', 'body.items.2.productId'],
    );
    const mixed = await placeOrder(app, alice.token, {
      items: [
        { productId: usd.id, quantity: 1 },
        { productId: eur.id, quantity: 1 },
      ],
    });
    assert.equal(mixed.status, 422);
    assert.equal(mixed.body.code, 'mixed_currency');
    assert.equal(await stockOf(app, usd.id), 100);
  });

  it('rejects status, total, unitPrice or userId in the body, and out-of-range items, with 400', async () => {
    const p = await createProduct(app, admin.token);
    const item = { productId: p.id, quantity: 1 };
    const bodies: [unknown, string][] = [
      [{ items: [item], status: 'PAID' }, 'body.status'],
      [{ items: [item], total: { amount: 1, currency: 'usd' } }, 'body.total'],
      [{ items: [{ ...item, unitPrice: { amount: 1, currency: 'usd' } }] }, 'body.items.0.unitPrice'],
      [{ items: [item], userId: admin.id }, 'body.userId'],
      [{ items: [{ ...item, quantity: 0 }] }, 'body.items.0.quantity'],
      [{ items: [{ ...item, quantity: 101 }] }, 'body.items.0.quantity'],
      [{ items: [{ ...item, quantity: 1.5 }] }, 'body.items.0.quantity'],
      [{ items: [] }, 'body.items'],
      [{ items: Array.from({ length: 51 }, () => item) }, 'body.items'],
      [{ items: [item], shippingAddress: { name: 'A' } }, 'body.shippingAddress.line1'],
    ];
    for (const [body, path] of bodies) {
      const res = await placeOrder(app, alice.token, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'validation_failed');
      assert.ok(
        res.body.errors.some((e: { path: string }) => e.path === path),
        `${path} in ${JSON.stringify(res.body.errors)}`,
      );
    }
    assert.equal(await stockOf(app, p.id), 100);
  });

  it('requires an Idempotency-Key and a token', async () => {
    const p = await createProduct(app, admin.token);
    const body = { items: [{ productId: p.id, quantity: 1 }] };
    const noKey = await call(app, 'POST', '/api/v1/orders', { token: alice.token, body });
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.code, 'idempotency_key_required');
    const noToken = await call(app, 'POST', '/api/v1/orders', { body, headers: { 'idempotency-key': 'k1' } });
    assert.equal(noToken.status, 401);
  });

  it('replays a retried order and reserves once; another body with the key is 422', async () => {
    const p = await createProduct(app, admin.token, { stock: 10 });
    const body = { items: [{ productId: p.id, quantity: 4 }] };
    const first = await placeOrder(app, alice.token, body, 'order-key-1');
    const again = await placeOrder(app, alice.token, body, 'order-key-1');
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(await stockOf(app, p.id), 6);
    const other = await placeOrder(app, alice.token, { items: [{ productId: p.id, quantity: 5 }] }, 'order-key-1');
    assert.equal(other.status, 422);
    assert.equal(other.body.code, 'idempotency_key_reused');
    assert.equal(await stockOf(app, p.id), 6);
  });

  it('keeps a refused order under its key: a retry replays the 409 even once the stock is back', async () => {
    const p = await createProduct(app, admin.token, { stock: 2 });
    const body = { items: [{ productId: p.id, quantity: 3 }] };
    const first = await placeOrder(app, alice.token, body, 'order-key-short');
    assert.equal(first.status, 409);
    assert.equal(first.body.code, 'insufficient_stock');
    const restock = await call(app, 'PATCH', `/api/v1/admin/products/${p.id}`, {
      token: admin.token,
      body: { stock: 10 },
    });
    assert.equal(restock.status, 200);
    const again = await placeOrder(app, alice.token, body, 'order-key-short');
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(await stockOf(app, p.id), 10);
  });

  it('writes nothing for a request refused before the order (400): the same key then places it', async () => {
    const p = await createProduct(app, admin.token, { stock: 5 });
    const bad = await placeOrder(app, alice.token, { items: [{ productId: 'prd_missing', quantity: 1 }] }, 'k-400');
    assert.equal(bad.status, 400);
    const keys = await app.database.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('scope', '=', alice.id)
      .where('key', '=', 'k-400')
      .execute();
    assert.equal(keys.length, 0);
    const good = await placeOrder(app, alice.token, { items: [{ productId: p.id, quantity: 1 }] }, 'k-400');
    assert.equal(good.status, 201);
    assert.equal(good.headers.get('idempotent-replayed'), null);
  });
});
