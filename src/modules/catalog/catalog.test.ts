import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type JsonResponse, type TestApp } from '../../../test/helpers.ts';
import { manualClock } from '../../shared/clock.ts';

type User = Awaited<ReturnType<typeof createUser>>;

describe('catalog', () => {
  let app: TestApp;
  let admin: User;
  let support: User;
  let customer: User;
  // A clock that stands still unless moved: many products share a created_at, so the id tie-break is exercised.
  const clock = manualClock(new Date('2026-02-01T10:00:00Z'));
  let skuSeq = 0;
  const sku = () => `SKU-${process.pid}-${++skuSeq}`;

  before(async () => {
    app = await startTestApp({ clock });
    admin = await createUser(app, 'admin');
    support = await createUser(app, 'support');
    customer = await createUser(app, 'customer');
  });
  after(() => app.close());

  const create = (body: Record<string, unknown>, token = admin.token) =>
    call(app, 'POST', '/api/v1/admin/products', { token, body });
  const valid = () => ({ sku: sku(), name: 'Mug', price: { amount: 1250, currency: 'usd' }, stock: 10 });

  it('lets an admin create a product and anyone read it', async () => {
    const body = { ...valid(), description: 'A mug.' };
    const created = await create(body);
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^prd_/);
    assert.deepEqual(
      { ...created.body, id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        sku: body.sku,
        name: 'Mug',
        description: 'A mug.',
        price: { amount: 1250, currency: 'usd' },
        stock: 10,
        active: true,
        imageUrl: null,
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    assert.equal(created.body.createdAt, clock.now().toISOString());
    const read = await call(app, 'GET', `/api/v1/products/${created.body.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, created.body);
  });

  it('handles 0- and 3-decimal currencies as integer minor units', async () => {
    const yen = await create({ ...valid(), price: { amount: 1500, currency: 'jpy' } });
    const dinar = await create({ ...valid(), price: { amount: 1500, currency: 'kwd' } });
    assert.deepEqual(yen.body.price, { amount: 1500, currency: 'jpy' });
    assert.deepEqual(dinar.body.price, { amount: 1500, currency: 'kwd' });
  });

  it('refuses products from customers (403), support (403) and anonymous callers (401)', async () => {
    for (const token of [customer.token, support.token]) {
      const res = await create(valid(), token);
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
    const anonymous = await call(app, 'POST', '/api/v1/admin/products', { body: valid() });
    assert.equal(anonymous.status, 401);
  });

  it('answers 409 sku_taken for a second product with the same sku', async () => {
    const body = valid();
    assert.equal((await create(body)).status, 201);
    const again = await create({ ...body, name: 'Other' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'sku_taken');
    assert.equal(again.body.status, 409);
    assert.equal(again.body.instance, '/api/v1/admin/products');
  });

  it('rejects bad input with 400 validation_failed listing each problem', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid(), price: { amount: 12.5, currency: 'usd' } }, 'body.price.amount'],
      [{ ...valid(), price: { amount: '1250', currency: 'usd' } }, 'body.price.amount'],
      [{ ...valid(), price: { amount: 1250, currency: 'USD' } }, 'body.price.currency'],
      [{ ...valid(), price: { amount: 1250, currency: 'xyz' } }, 'body.price.currency'],
      [{ ...valid(), stock: -1 }, 'body.stock'],
      [{ ...valid(), sku: '' }, 'body.sku'],
      [{ ...valid(), id: 'prd_mine' }, 'body.id'],
    ];
    for (const [body, path] of cases) {
      const res = await create(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'validation_failed');
      assert.ok(
        res.body.errors.some((e: { path: string }) => e.path === path),
        `${path} in ${JSON.stringify(res.body.errors)}`,
      );
    }
  });

  it('keeps an image URL: a path on this server or https; null removes it', async () => {
    const created = await create({ ...valid(), imageUrl: '/images/demo/mug.svg' });
    assert.equal(created.status, 201);
    assert.equal(created.body.imageUrl, '/images/demo/mug.svg');
    assert.equal((await call(app, 'GET', `/api/v1/products/${created.body.id}`)).body.imageUrl, '/images/demo/mug.svg');
    const https = await call(app, 'PATCH', `/api/v1/admin/products/${created.body.id}`, {
      token: admin.token,
      body: { imageUrl: 'https://cdn.example.com/p/mug.png?v=2' },
    });
    assert.equal(https.status, 200);
    assert.equal(https.body.imageUrl, 'https://cdn.example.com/p/mug.png?v=2');
    const removed = await call(app, 'PATCH', `/api/v1/admin/products/${created.body.id}`, {
      token: admin.token,
      body: { imageUrl: null },
    });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.imageUrl, null);
    const unchanged = await call(app, 'PATCH', `/api/v1/admin/products/${created.body.id}`, {
      token: admin.token,
      body: { stock: 4 },
    });
    assert.equal(unchanged.body.imageUrl, null, 'a patch without imageUrl leaves it');
  });

  it('refuses any other image URL with 400 validation_failed naming body.imageUrl, and changes nothing', async () => {
    const { body: product } = await create({ ...valid(), imageUrl: '/images/demo/mug.svg' });
    const bad = [
      'http://cdn.example.com/mug.png',
      'javascript:alert(1)',
      'data:image/svg+xml,<svg/>',
      '//evil.example.com/mug.png',
      '/\\evil.example.com/mug.png',
      'images/mug.png',
      '',
      '/images/my mug.png',
      'https://user:pw@cdn.example.com/mug.png',
      `/${'a'.repeat(2048)}`,
      'ftp://cdn.example.com/mug.png',
    ];
    for (const imageUrl of bad) {
      for (const res of [
        await create({ ...valid(), imageUrl }),
        await call(app, 'PATCH', `/api/v1/admin/products/${product.id}`, { token: admin.token, body: { imageUrl } }),
      ]) {
        assert.equal(res.status, 400, imageUrl);
        assert.equal(res.body.code, 'validation_failed');
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        const problem = res.body.errors.find((e: { path: string }) => e.path === 'body.imageUrl');
        assert.ok(problem, JSON.stringify(res.body.errors));
        assert.match(problem.message, /starting with "\/".*https:\/\//);
      }
    }
    const after = await call(app, 'GET', `/api/v1/products/${product.id}`);
    assert.equal(after.body.imageUrl, '/images/demo/mug.svg');
    assert.equal(after.body.updatedAt, product.updatedAt);
  });

  it('lets an admin patch name, price, stock and active; others get 403', async () => {
    const { body: product } = await create(valid());
    clock.advance(1000);
    const patched = await call(app, 'PATCH', `/api/v1/admin/products/${product.id}`, {
      token: admin.token,
      body: { name: 'Big mug', price: { amount: 1500, currency: 'eur' }, stock: 3, description: null },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Big mug');
    assert.deepEqual(patched.body.price, { amount: 1500, currency: 'eur' });
    assert.equal(patched.body.stock, 3);
    assert.equal(patched.body.description, null);
    assert.notEqual(patched.body.updatedAt, product.updatedAt);
    assert.equal(patched.body.createdAt, product.createdAt);
    const byCustomer = await call(app, 'PATCH', `/api/v1/admin/products/${product.id}`, {
      token: customer.token,
      body: { stock: 100 },
    });
    assert.equal(byCustomer.status, 403);
    const empty = await call(app, 'PATCH', `/api/v1/admin/products/${product.id}`, { token: admin.token, body: {} });
    assert.equal(empty.status, 400);
    const unknown = await call(app, 'PATCH', '/api/v1/admin/products/prd_nope', {
      token: admin.token,
      body: { stock: 1 },
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');
  });

  it('hides inactive products from the public; staff still see them', async () => {
    const { body: product } = await create(valid());
    await call(app, 'PATCH', `/api/v1/admin/products/${product.id}`, { token: admin.token, body: { active: false } });
    assert.equal((await call(app, 'GET', `/api/v1/products/${product.id}`)).status, 404);
    const forStaff = await call(app, 'GET', `/api/v1/admin/products/${product.id}`, { token: support.token });
    assert.equal(forStaff.status, 200);
    assert.equal(forStaff.body.active, false);
    assert.equal(
      (await call(app, 'GET', `/api/v1/admin/products/${product.id}`, { token: customer.token })).status,
      403,
    );
    const publicIds = await allIds('/api/v1/products?limit=100');
    assert.ok(!publicIds.includes(product.id));
    const inactive = await allIds('/api/v1/admin/products?limit=100&active=false', admin.token);
    assert.ok(inactive.includes(product.id));
    assert.equal((await call(app, 'GET', '/api/v1/admin/products', { token: customer.token })).status, 403);
  });

  it('pages through the list newest first, each product exactly once, ties broken by id', async () => {
    const made: string[] = [];
    for (let i = 0; i < 23; i += 1) {
      if (i % 5 === 0) clock.advance(1); // groups of products share a timestamp
      made.push((await create(valid())).body.id as string);
    }
    const seen: { id: string; createdAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '?limit=7' : `?limit=7&cursor=${cursor}`;
      const res = await call(app, 'GET', `/api/v1/products${query}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 7);
      seen.push(...res.body.data);
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);
    const ids = seen.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'no product twice');
    for (const id of made) assert.ok(ids.includes(id));
    for (let i = 1; i < seen.length; i += 1) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      assert.ok(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id), 'newest first');
    }
    const firstPage = await call(app, 'GET', '/api/v1/products');
    assert.equal(firstPage.body.data.length, 20, 'default limit is 20');
  });

  it('rejects bad list parameters with 400', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'cursor=not-a-cursor', 'limit=5&limit=6', 'sort=name']) {
      const res = await call(app, 'GET', `/api/v1/products?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.code, 'validation_failed');
    }
  });

  async function allIds(path: string, token?: string): Promise<string[]> {
    const ids: string[] = [];
    let next: string | null = path;
    while (next !== null) {
      const res: JsonResponse = await call(app, 'GET', next, token === undefined ? {} : { token });
      ids.push(...res.body.data.map((p: { id: string }) => p.id));
      next = res.body.nextCursor === null ? null : `${path}&cursor=${res.body.nextCursor}`;
    }
    return ids;
  }
});
