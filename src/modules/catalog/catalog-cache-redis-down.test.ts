import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';

// REDIS_URL set but nothing answers there: no Redis needed. The cache shared through a real Redis by two nodes is
// tested in test/services/catalog/shared-cache.test.ts.
const UNREACHABLE = 'redis://127.0.0.1:1';

describe('catalog cache while Redis is unreachable', () => {
  let app: TestApp;
  before(async () => {
    const prefix = `fulcrum-test:${randomBytes(6).toString('hex')}`;
    app = await startTestApp({
      env: { REDIS_URL: UNREACHABLE, RATE_LIMIT_KEY_PREFIX: prefix, CATALOG_CACHE_KEY_PREFIX: prefix },
    });
  });
  after(async () => {
    await app.built.realtime.close();
    await app.close();
  });

  it('answers reads and writes from the database, never a 5xx, and shows every change at once', async () => {
    assert.equal(app.built.catalogCache.kind, 'redis');
    const admin = await createUser(app, 'admin');
    const created = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: { sku: `DOWN-${process.pid}`, name: 'Kettle', price: { amount: 300, currency: 'usd' }, stock: 2 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const path = `/api/v1/products/${created.body.id}`;
    const first = await call(app, 'GET', path);
    assert.equal(first.status, 200);
    assert.equal(first.body.name, 'Kettle');
    assert.equal(
      (await call(app, 'GET', path, { headers: { 'if-none-match': first.headers.get('etag')! } })).status,
      304,
    );
    const list = await call(app, 'GET', '/api/v1/products');
    assert.equal(list.status, 200);
    assert.equal(list.body.data[0].id, created.body.id);
    const patched = await call(app, 'PATCH', `/api/v1/admin/products/${created.body.id}`, {
      token: admin.token,
      body: { name: 'Copper kettle' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await call(app, 'GET', path)).body.name, 'Copper kettle');
  });
});
