import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type Database } from '../src/db/database.ts';
import { call, createUser, startTestApp, type TestApp } from './helpers.ts';
import { startPgStandIn, type PgStandIn } from './pg-standin.ts';

// A request that meets a database outage (the server gone, its connections cut) is a 503 with Retry-After,
// not a 500, and changes nothing; once the database is back the same requests succeed, a retried key once.
describe('a database outage during requests', () => {
  let server: PgStandIn;
  let database: Database;
  let app: TestApp;
  before(async () => {
    server = await startPgStandIn();
    // The stand-in gives every connection one shared session, which PostgreSQL never does: no named statements.
    database = await openDatabase({ url: server.url, dataDir: '', preparedStatements: false });
    app = await startTestApp({ database });
  });
  after(async () => {
    await app.close();
    await database.close();
    await server.close();
  });

  it('answers 503 service_unavailable while PostgreSQL is away, and works again after', async () => {
    const admin = await createUser(app, 'admin');
    const customer = await createUser(app);
    const product = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: { sku: 'OUT-1', name: 'Outage mug', price: { amount: 1200, currency: 'eur' }, stock: 5 },
    });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const order = () =>
      call(app, 'POST', '/api/v1/orders', {
        token: customer.token,
        headers: { 'idempotency-key': 'outage-order-1' },
        body: { items: [{ productId: product.body.id, quantity: 2 }] },
      });

    await server.stop(); // every connection dropped, new ones refused
    const read = await call(app, 'GET', '/api/v1/products');
    assert.equal(read.status, 503);
    assert.equal(read.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(read.body.code, 'service_unavailable');
    assert.equal(read.headers.get('retry-after'), '2');
    assert.doesNotMatch(JSON.stringify(read.body), /ECONNREFUSED|terminated|127\.0\.0\.1/);
    const failed = await order();
    assert.equal(failed.status, 503);
    assert.equal(failed.body.code, 'service_unavailable');

    await server.start();
    // Nothing of the failed attempt remains: the same key places the order now, once.
    const placed = await order();
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const replay = await order();
    assert.equal(replay.status, 201);
    assert.equal(replay.body.id, placed.body.id);
    const orders = await database.db.selectFrom('orders').select('id').where('user_id', '=', customer.id).execute();
    assert.deepEqual(
      orders.map((o) => o.id),
      [placed.body.id],
    );
    const stock = await call(app, 'GET', `/api/v1/products/${product.body.id}`);
    assert.equal(stock.body.stock, 3);
  });
});
