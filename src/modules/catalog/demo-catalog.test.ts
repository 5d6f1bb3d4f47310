import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { call, createTestDatabase, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { ConfigError, loadConfig } from '../../config.ts';
import { openDatabase } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { manualClock } from '../../shared/clock.ts';
import { DEMO_PRODUCTS, DEMO_SEED_KEY, seedDemoCatalog } from './demo-catalog.ts';

const webDir = fileURLToPath(new URL('../../../web/', import.meta.url));
const clock = manualClock(new Date('2026-04-01T08:00:00Z'));

describe('the demo catalog', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ clock });
  });
  after(() => app.close());

  it('has at least 8 products, each with a name, description, price, stock and an image shipped in web/', () => {
    assert.ok(DEMO_PRODUCTS.length >= 8);
    assert.equal(new Set(DEMO_PRODUCTS.map((p) => p.sku)).size, DEMO_PRODUCTS.length);
    assert.equal(new Set(DEMO_PRODUCTS.map((p) => p.imageUrl)).size, DEMO_PRODUCTS.length, 'an image each');
    for (const p of DEMO_PRODUCTS) {
      assert.ok(p.name.length > 0 && p.description.length > 20, p.sku);
      assert.ok(Number.isInteger(p.amount) && p.amount > 0, p.sku);
      assert.ok(Number.isInteger(p.stock) && p.stock > 0, p.sku);
      assert.match(p.imageUrl, /^\/images\/demo\/[a-z-]+\.svg$/);
      assert.ok(existsSync(join(webDir, p.imageUrl)), `${p.imageUrl} is in web/`);
    }
  });

  it('seeds an empty catalog once: active products the public list shows, newest first, with their images', async () => {
    const outcome = await seedDemoCatalog({ db: app.database.db, clock, nodeEnv: 'development', enabled: true });
    assert.deepEqual(outcome, { seeded: true, count: DEMO_PRODUCTS.length });
    const list = await call(app, 'GET', '/api/v1/products?limit=100');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((p: { sku: string }) => p.sku),
      DEMO_PRODUCTS.map((p) => p.sku),
    );
    for (const product of list.body.data) {
      const demo = DEMO_PRODUCTS.find((p) => p.sku === product.sku)!;
      assert.equal(product.active, true);
      assert.equal(product.name, demo.name);
      assert.equal(product.description, demo.description);
      assert.deepEqual(product.price, { amount: demo.amount, currency: 'usd' });
      assert.equal(product.stock, demo.stock);
      assert.equal(product.imageUrl, demo.imageUrl);
    }

    const again = await seedDemoCatalog({ db: app.database.db, clock, nodeEnv: 'development', enabled: true });
    assert.deepEqual(again, { seeded: false, reason: 'already_done' });
    const count = await app.database.db.selectFrom('products').select('id').execute();
    assert.equal(count.length, DEMO_PRODUCTS.length, 'not duplicated');
  });

  it('serves every demo image as image/svg+xml; a missing one is a 404', async () => {
    for (const p of DEMO_PRODUCTS) {
      const res = await fetch(`${app.baseUrl}${p.imageUrl}`);
      assert.equal(res.status, 200, p.imageUrl);
      assert.match(res.headers.get('content-type') ?? '', /^image\/svg\+xml/);
      const text = await res.text();
      assert.match(text, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.doesNotMatch(text, /<script|on\w+=/i, 'a picture, nothing that runs');
    }
    const missing = await fetch(`${app.baseUrl}/images/demo/nope.svg`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  it('orders of demo products work like any other (stock is taken)', async () => {
    const customer = await createUser(app);
    const [first] = (await call(app, 'GET', '/api/v1/products?limit=1')).body.data;
    const order = await call(app, 'POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'Idempotency-Key': `demo-${Date.now()}` },
      body: { items: [{ productId: first.id, quantity: 2 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    assert.equal((await call(app, 'GET', `/api/v1/products/${first.id}`)).body.stock, first.stock - 2);
  });
});

describe('when the demo catalog is not seeded', () => {
  const cases: [string, Parameters<typeof seedDemoCatalog>[0]['nodeEnv'], boolean, string][] = [
    ['SEED_DEMO=false', 'development', false, 'disabled'],
    ['production, even with SEED_DEMO=true', 'production', true, 'production'],
    ['production with SEED_DEMO=false', 'production', false, 'production'],
  ];
  for (const [name, nodeEnv, enabled, reason] of cases) {
    it(`${name}: nothing is inserted, no marker either`, async () => {
      const test = await createTestDatabase();
      const database = test.database;
      try {
        assert.deepEqual(await seedDemoCatalog({ db: database.db, clock, nodeEnv, enabled }), {
          seeded: false,
          reason,
        });
        assert.deepEqual(await database.db.selectFrom('products').select('id').execute(), []);
        assert.deepEqual(await database.db.selectFrom('job_state').select('key').execute(), []);
      } finally {
        await test.drop();
      }
    });
  }

  it('a catalog that has products already is left alone, for good', async () => {
    const test = await createTestDatabase();
    const database = test.database;
    try {
      await database.db
        .insertInto('products')
        .values({ id: 'prd_own', sku: 'OWN-1', name: 'Own', price_amount: 100, currency: 'usd', stock: 1 })
        .execute();
      const outcome = await seedDemoCatalog({ db: database.db, clock, nodeEnv: 'development', enabled: true });
      assert.deepEqual(outcome, { seeded: false, reason: 'catalog_not_empty' });
      // Even once the shop's own products are gone, the decision stands: demo products never appear later.
      await database.db.deleteFrom('products').execute();
      const later = await seedDemoCatalog({ db: database.db, clock, nodeEnv: 'development', enabled: true });
      assert.deepEqual(later, { seeded: false, reason: 'already_done' });
      assert.deepEqual(await database.db.selectFrom('products').select('id').execute(), []);
    } finally {
      await test.drop();
    }
  });

  it('SEED_DEMO is true by default, false when set so, and anything else stops the start', () => {
    assert.equal(loadConfig({}).SEED_DEMO, true);
    assert.equal(loadConfig({ SEED_DEMO: 'false' }).SEED_DEMO, false);
    assert.equal(loadConfig({ SEED_DEMO: 'true' }).SEED_DEMO, true);
    assert.throws(
      () => loadConfig({ SEED_DEMO: 'no' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.join('\n') === 'config: SEED_DEMO must be true or false',
    );
  });
});

describe('the demo catalog across starts', () => {
  it('two starts at once on one database seed it once', async () => {
    const test = await createTestDatabase();
    const database = test.database;
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, () =>
          seedDemoCatalog({ db: database.db, clock, nodeEnv: 'development', enabled: true }),
        ),
      );
      assert.equal(outcomes.filter((o) => o.seeded).length, 1, JSON.stringify(outcomes));
      const rows = await database.db.selectFrom('products').select('sku').execute();
      assert.equal(rows.length, DEMO_PRODUCTS.length);
    } finally {
      await test.drop();
    }
  });

  it('a restart on the same DATA_DIR does not seed again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-demo-'));
    try {
      for (const expected of [true, false]) {
        const database = await openDatabase({ url: undefined, dataDir });
        try {
          await migrateToLatest(database.db);
          const outcome = await seedDemoCatalog({ db: database.db, clock, nodeEnv: 'development', enabled: true });
          assert.equal(outcome.seeded, expected);
          const rows = await database.db.selectFrom('products').select('id').execute();
          assert.equal(rows.length, DEMO_PRODUCTS.length);
          const marker = await database.db
            .selectFrom('job_state')
            .select('value')
            .where('key', '=', DEMO_SEED_KEY)
            .executeTakeFirstOrThrow();
          assert.deepEqual(marker.value, { seeded: true, count: DEMO_PRODUCTS.length });
        } finally {
          await database.close();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
