import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { call, createUser, startTestApp, type TestApp } from '../../helpers.ts';
import { SERVICES } from '../support.ts';

// Issue 11: two API nodes over one database share the catalog cache through Redis (TEST_REDIS_URL, else the local
// one); an admin's write on one node is what the other serves at its next read.
const REDIS_URL = SERVICES.redis;
// Parallel test files (and earlier runs) share the Redis: this run's keys are its own.
const prefix = `fulcrum-test:${randomBytes(6).toString('hex')}`;

describe('catalog cache shared through Redis by two API nodes', () => {
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  let admin: { token: string };
  before(async () => {
    // A TTL far longer than the test, so that only invalidation can make a node serve a change.
    const env = { REDIS_URL, CATALOG_CACHE_KEY_PREFIX: prefix, CATALOG_CACHE_TTL_MS: '1000' };
    a = await startTestApp({ env });
    b = await startTestApp({ env, database: a.database });
    redis = new Redis(REDIS_URL);
    admin = await createUser(a, 'admin');
  });
  after(async () => {
    redis.disconnect();
    for (const app of [b, a]) {
      await app.built.realtime.close();
      await app.close();
    }
  });

  const create = async (name: string) => {
    const res = await call(a, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: {
        sku: `SHARED-${randomBytes(4).toString('hex')}`,
        name,
        price: { amount: 500, currency: 'usd' },
        stock: 5,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  };
  /** Changes the row behind the cache's back: a node that still shows the old name serves from the cache. */
  const rename = (id: string, name: string) =>
    a.database.db.updateTable('products').set({ name }).where('id', '=', id).execute();

  it('an answer cached by one node is served by the other, under the prefix', async () => {
    const id = await create('Mug');
    assert.equal((await call(a, 'GET', `/api/v1/products/${id}`)).body.name, 'Mug');
    await rename(id, 'Renamed behind the cache');
    await waitForKey(redis, `${prefix}:p:${id}`);
    assert.equal((await call(b, 'GET', `/api/v1/products/${id}`)).body.name, 'Mug', 'b serves what a cached');
  });

  it("an admin's edit, deactivation and activation on one node are what the other serves next", async () => {
    const id = await create('Bowl');
    const path = `/api/v1/products/${id}`;
    const list = '/api/v1/products?limit=50';
    assert.equal((await call(b, 'GET', path)).body.name, 'Bowl');
    assert.ok((await call(b, 'GET', list)).body.data.some((p: { id: string }) => p.id === id));
    await waitForKey(redis, `${prefix}:p:${id}`);

    const edited = await call(a, 'PATCH', `/api/v1/admin/products/${id}`, {
      token: admin.token,
      body: { name: 'Blue bowl' },
    });
    assert.equal(edited.status, 200);
    assert.equal(await redis.exists(`${prefix}:p:${id}`), 0, 'the write dropped the shared key');
    assert.equal((await call(b, 'GET', path)).body.name, 'Blue bowl');
    const page = (await call(b, 'GET', list)).body.data as { id: string; name: string }[];
    assert.equal(page.find((p) => p.id === id)?.name, 'Blue bowl');

    await call(a, 'PATCH', `/api/v1/admin/products/${id}`, { token: admin.token, body: { active: false } });
    assert.equal((await call(b, 'GET', path)).status, 404);
    assert.ok(!(await call(b, 'GET', list)).body.data.some((p: { id: string }) => p.id === id));
    await call(b, 'PATCH', `/api/v1/admin/products/${id}`, { token: admin.token, body: { active: true } });
    assert.equal((await call(a, 'GET', path)).status, 200);
  });
});

/** The cache's write is not awaited by the answer: wait until Redis holds it (a bound, not a timing assertion). */
async function waitForKey(redis: Redis, key: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await redis.exists(key)) === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`${key} never appeared in Redis`);
}
