import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { solidPng } from '../../../test/png.ts';
import { answerOf, memoryCache } from './catalog.cache.ts';

type User = Awaited<ReturnType<typeof createUser>>;

const REVALIDATE = 'public, max-age=0, must-revalidate';

// Issue 11: public catalog answers carry a strong ETag of their bytes and Cache-Control; If-None-Match → 304.
// Answers are cached (memory here; Redis in test/services/catalog/shared-cache.test.ts) and every write drops them.
describe('catalog: ETag, 304 and the cache', () => {
  let app: TestApp;
  let admin: User;
  let customer: User;
  let seq = 0;

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    customer = await createUser(app, 'customer');
  });
  after(() => app.close());

  const product = async (fields: Record<string, unknown> = {}) => {
    const res = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: {
        sku: `CACHE-${process.pid}-${++seq}`,
        name: 'Teapot',
        price: { amount: 1500, currency: 'eur' },
        stock: 9,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    if (Object.keys(fields).length > 0) await patch(res.body.id as string, fields);
    return res.body.id as string;
  };
  const patch = async (id: string, body: Record<string, unknown>) => {
    const res = await call(app, 'PATCH', `/api/v1/admin/products/${id}`, { token: admin.token, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const get = (path: string, headers: Record<string, string> = {}) => call(app, 'GET', path, { headers });

  it('answers a product and a list page with a strong ETag of the body and Cache-Control', async () => {
    const id = await product();
    for (const path of [`/api/v1/products/${id}`, '/api/v1/products?limit=5']) {
      const res = await get(path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), REVALIDATE);
      assert.equal(res.headers.get('etag'), answerOf(res.body).etag, 'the hash of exactly these bytes');
      assert.match(res.headers.get('etag')!, /^"[A-Za-z0-9_-]{27}"$/);
    }
  });

  it('sends the kept bytes as JSON with their length in bytes, and a HEAD request the headers alone', async () => {
    const id = await product();
    await patch(id, { name: 'Théière — 茶壺' });
    const path = `/api/v1/products/${id}`;
    const res = await fetch(`${app.baseUrl}${path}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.ok(bytes.length > bytes.toString('utf8').length, 'the name spends more bytes than characters');
    assert.equal(JSON.parse(bytes.toString('utf8')).name, 'Théière — 茶壺');
    const head = await fetch(`${app.baseUrl}${path}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.headers.get('etag'), res.headers.get('etag'));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  it('answers 304 without a body when If-None-Match names the ETag (W/, lists and * too), else 200', async () => {
    const path = `/api/v1/products/${await product()}`;
    const etag = (await get(path)).headers.get('etag')!;
    for (const match of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get(path, { 'if-none-match': match });
      assert.equal(res.status, 304, match);
      assert.equal(res.body, undefined);
      assert.equal(res.headers.get('etag'), etag);
      assert.equal(res.headers.get('cache-control'), REVALIDATE);
    }
    for (const match of ['"other"', etag.slice(0, -2) + '"', 'garbage']) {
      const res = await get(path, { 'if-none-match': match });
      assert.equal(res.status, 200, match);
      assert.equal(res.body.id, path.split('/').pop());
    }
  });

  it('every admin write changes the answer at once: name, price, stock, active, image upload and removal', async () => {
    const id = await product();
    const path = `/api/v1/products/${id}`;
    const list = '/api/v1/products?limit=100';
    let etag = (await get(path)).headers.get('etag')!;
    let listTag = (await get(list)).headers.get('etag')!;
    const changed = async (what: string) => {
      const res = await get(path, { 'if-none-match': etag });
      assert.equal(res.status, 200, `${what}: the old ETag no longer matches`);
      const page = await get(list, { 'if-none-match': listTag });
      assert.equal(page.status, 200, `${what}: the list's old ETag no longer matches`);
      etag = res.headers.get('etag')!;
      listTag = page.headers.get('etag')!;
      return res.body as Record<string, unknown>;
    };
    await patch(id, { name: 'Green teapot' });
    assert.equal((await changed('name')).name, 'Green teapot');
    await patch(id, { price: { amount: 1700, currency: 'eur' } });
    assert.deepEqual((await changed('price')).price, { amount: 1700, currency: 'eur' });
    await patch(id, { stock: 4 });
    assert.equal((await changed('stock')).stock, 4);
    const put = await fetch(`${app.baseUrl}/api/v1/admin/products/${id}/image`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'image/png' },
      body: solidPng(2, 2, [1, 2, 3]),
    });
    assert.equal(put.status, 200);
    assert.match((await changed('image upload')).imageUrl as string, /\/image\?v=/);
    const removed = await call(app, 'DELETE', `/api/v1/admin/products/${id}/image`, { token: admin.token });
    assert.equal(removed.status, 200);
    assert.equal((await changed('image removal')).imageUrl, null);
    await patch(id, { active: false });
    assert.equal((await get(path)).status, 404, 'deactivated: gone from the public at once');
    assert.ok(!(await get(list)).body.data.some((p: { id: string }) => p.id === id));
    await patch(id, { active: true });
    assert.equal((await get(path)).status, 200, 'active again at once');
  });

  it('a new product is in the list at once', async () => {
    const list = '/api/v1/products?limit=3';
    const before = await get(list);
    const id = await product();
    const res = await get(list, { 'if-none-match': before.headers.get('etag')! });
    assert.equal(res.status, 200);
    assert.equal(res.body.data[0].id, id);
  });

  it('stock taken by an order and given back by its cancellation shows at the next read', async () => {
    const id = await product();
    const path = `/api/v1/products/${id}`;
    assert.equal((await get(path)).body.stock, 9);
    const order = await call(app, 'POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'idempotency-key': `cache-${id}` },
      body: { items: [{ productId: id, quantity: 2 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    assert.equal((await get(path)).body.stock, 7);
    const cancelled = await call(app, 'POST', `/api/v1/orders/${order.body.id}/cancel`, {
      token: customer.token,
      body: {},
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal((await get(path)).body.stock, 9);
  });

  it('is the same answer whoever asks: staff see no inactive product and no other field here', async () => {
    const id = await product();
    const path = `/api/v1/products/${id}`;
    const anonymous = await get(path);
    for (const user of [customer, admin]) {
      const res = await get(path, { authorization: `Bearer ${user.token}` });
      assert.equal(res.headers.get('etag'), anonymous.headers.get('etag'));
      assert.deepEqual(res.body, anonymous.body);
    }
    await patch(id, { active: false });
    const asAdmin = await get(path, { authorization: `Bearer ${admin.token}` });
    assert.equal(asAdmin.status, 404, 'the public route hides an inactive product from staff too');
  });
});

describe('catalog: the in-process cache', () => {
  it('keeps an answer for its TTL only', async () => {
    let now = 1_000;
    const cache = memoryCache(500, 10, () => now);
    const answer = answerOf({ id: 'prd_1' });
    await cache.keepProduct('prd_1', answer);
    now += 499;
    assert.deepEqual(await cache.product('prd_1'), answer);
    now += 1;
    assert.equal(await cache.product('prd_1'), undefined);
  });

  it('holds at most its bound, dropping the oldest first', async () => {
    const cache = memoryCache(500, 3, () => 0);
    for (const id of ['a', 'b', 'c', 'd']) await cache.keepProduct(id, answerOf({ id }));
    assert.equal(await cache.product('a'), undefined);
    for (const id of ['b', 'c', 'd']) assert.equal((await cache.product(id))?.body, JSON.stringify({ id }));
  });

  it('drops the products named and every list page on invalidate, and nothing else', async () => {
    const cache = memoryCache(500, 10, () => 0);
    await cache.keepProduct('a', answerOf({ id: 'a' }));
    await cache.keepProduct('b', answerOf({ id: 'b' }));
    await cache.keepList('[20,null,null]', answerOf({ data: [] }));
    await cache.invalidate(['a']);
    assert.equal(await cache.product('a'), undefined);
    assert.equal(await cache.list('[20,null,null]'), undefined);
    assert.notEqual(await cache.product('b'), undefined);
  });
});
