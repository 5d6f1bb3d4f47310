import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { placeOrder } from '../src/modules/orders/orders.place.ts';
import { call, createUser, insertDeadClaim, orderRecordedUnder, startTestApp, type TestApp } from './helpers.ts';
import { createProduct, placeOrder as postOrder, stockOf } from './shop.ts';

describe('a process that dies after placing an order, before answering', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('leaves a recorded answer: the retry replays the same order and reserves nothing more', async () => {
    const admin = await createUser(app, 'admin');
    const customer = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { stock: 10 });
    const body = { items: [{ productId: product.id, quantity: 3 }] };
    const key = 'crash-between-commit-and-response';

    // The dead request's claim, as the middleware wrote it; its lease has run out by the time of the retry.
    await insertDeadClaim(app, {
      scope: customer.id,
      key,
      route: '/api/v1/orders/',
      body,
      leaseId: 'lease-of-the-dead-request',
    });
    // The dead request placed its order (the service commits), then the process died: no response, no
    // recording by the middleware afterwards.
    const placed = (await placeOrder(
      { db: app.database.db, clock: app.deps.clock, orderTtlSeconds: 1800, hooks: {} },
      { id: customer.id, role: 'customer' },
      body,
      orderRecordedUnder({ scope: customer.id, key, leaseId: 'lease-of-the-dead-request' }, app.deps.clock.now()),
    ))!;
    assert.equal(await stockOf(app, product.id), 7);

    const retry = await postOrder(app, customer.token, body, key);
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.id, placed.id);
    const orders = await app.database.db.selectFrom('orders').select('id').where('user_id', '=', customer.id).execute();
    assert.equal(orders.length, 1);
    assert.equal(await stockOf(app, product.id), 7);
  });

  it('a normal request records its answer once, inside the order transaction', async () => {
    const admin = await createUser(app, 'admin');
    const customer = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { stock: 5 });
    const first = await postOrder(app, customer.token, { items: [{ productId: product.id, quantity: 1 }] }, 'k-1');
    assert.equal(first.status, 201);
    const row = await app.database.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('scope', '=', customer.id)
      .where('key', '=', 'k-1')
      .executeTakeFirstOrThrow();
    assert.equal(row.state, 'done');
    assert.equal(row.response_status, 201);
    assert.equal((row.response_body as { id: string }).id, first.body.id);
    // Recorded as the route was before the routers were found by base path, so a retry across an upgrade replays.
    assert.equal(row.route, '/api/v1/orders/');
  });

  it('one key for POST /api/v1/orders with or without its trailing slash: the retry replays', async () => {
    const admin = await createUser(app, 'admin');
    const customer = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { stock: 5 });
    const body = { items: [{ productId: product.id, quantity: 2 }] };
    const first = await postOrder(app, customer.token, body, 'k-slash');
    assert.equal(first.status, 201);
    const again = await call(app, 'POST', '/api/v1/orders/', {
      token: customer.token,
      body,
      headers: { 'idempotency-key': 'k-slash' },
    });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal(await stockOf(app, product.id), 3);
  });
});
