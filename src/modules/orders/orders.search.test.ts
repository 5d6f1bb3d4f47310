import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { createProduct, placeOrder, type TestProduct } from '../../../test/shop.ts';

type User = Awaited<ReturnType<typeof createUser>>;

// GET /orders for the admin list: the customer on each order, search by e-mail, a range of creation times,
// pages over all of it, and the refusals (docs/api.md § Orders).
describe('orders: customer, search by e-mail, date range', () => {
  let app: TestApp;
  let admin: User;
  let support: User;
  let alice: User;
  let bob: User;
  let product: TestProduct;
  const placed: Record<string, string[]> = { alice: [], bob: [] };

  async function order(user: User, createdAt: string): Promise<string> {
    const res = await placeOrder(app, user.token, { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(res.status, 201);
    const at = new Date(createdAt);
    await app.database.db
      .updateTable('orders')
      .set({ created_at: at, expires_at: new Date(at.getTime() + 3_600_000) })
      .where('id', '=', res.body.id)
      .execute();
    return res.body.id as string;
  }

  const list = (token: string, query: string) => call(app, 'GET', `/api/v1/orders?${query}`, { token });
  const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((o) => o.id);

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    support = await createUser(app, 'support');
    alice = await createUser(app, 'customer');
    bob = await createUser(app, 'customer');
    product = await createProduct(app, admin.token, { stock: 100 });
    placed.alice!.push(await order(alice, '2026-01-10T10:00:00.000Z'));
    placed.alice!.push(await order(alice, '2026-01-11T10:00:00.000Z'));
    placed.alice!.push(await order(alice, '2026-01-12T10:00:00.000Z'));
    placed.bob!.push(await order(bob, '2026-01-11T12:00:00.000Z'));
  });
  after(() => app.close());

  it('every order response names its customer: e-mail and name', async () => {
    const res = await placeOrder(app, alice.token, { items: [{ productId: product.id, quantity: 1 }] });
    assert.deepEqual(res.body.customer, { email: alice.email, name: 'Test customer' });
    const read = await call(app, 'GET', `/api/v1/orders/${res.body.id}`, { token: admin.token });
    assert.deepEqual(read.body.customer, { email: alice.email, name: 'Test customer' });
    const page = await list(admin.token, `email=${encodeURIComponent(bob.email)}`);
    assert.deepEqual(page.body.data[0].customer, { email: bob.email, name: 'Test customer' });
    await call(app, 'POST', `/api/v1/orders/${res.body.id}/cancel`, { token: alice.token, body: {} });
  });

  it('staff find a customer’s orders by e-mail, in any case and with spaces around', async () => {
    const res = await list(support.token, `email=${encodeURIComponent(`  ${alice.email.toUpperCase()} `)}`);
    assert.equal(res.status, 200);
    assert.ok(ids(res).length >= 3);
    assert.ok(res.body.data.every((o: { userId: string }) => o.userId === alice.id));
    const none = await list(admin.token, 'email=nobody%40example.test');
    assert.deepEqual(none.body, { data: [], nextCursor: null });
  });

  it('filters by a range of creation times (from inclusive, to exclusive), with status and e-mail', async () => {
    const res = await list(admin.token, 'createdFrom=2026-01-11T00:00:00Z&createdTo=2026-01-12T10:00:00.000Z');
    assert.equal(res.status, 200);
    assert.deepEqual(ids(res), [placed.bob![0], placed.alice![1]]);
    const from = await list(admin.token, 'createdFrom=2026-01-12T10:00:00.000Z');
    assert.ok(ids(from).includes(placed.alice![2]!));
    assert.ok(!ids(from).includes(placed.alice![1]!));
    const both = await list(
      admin.token,
      `email=${encodeURIComponent(alice.email)}&status=CREATED&createdTo=2026-01-12T00:00:00%2B01:00`,
    );
    assert.deepEqual(ids(both), [placed.alice![1], placed.alice![0]]);
  });

  it('pages through a filtered list with the cursor', async () => {
    const first = await list(
      admin.token,
      `email=${encodeURIComponent(alice.email)}&createdTo=2026-02-01T00:00:00Z&limit=2`,
    );
    assert.deepEqual(ids(first), [placed.alice![2], placed.alice![1]]);
    assert.equal(typeof first.body.nextCursor, 'string');
    const second = await list(
      admin.token,
      `email=${encodeURIComponent(alice.email)}&createdTo=2026-02-01T00:00:00Z&limit=2&cursor=${first.body.nextCursor}`,
    );
    assert.deepEqual(ids(second), [placed.alice![0]]);
    assert.equal(second.body.nextCursor, null);
  });

  it('a customer may filter by their own e-mail and dates; another’s e-mail is 403, known or not', async () => {
    const own = await list(
      alice.token,
      `email=${encodeURIComponent(alice.email)}&createdFrom=2026-01-11T00:00:00Z&createdTo=2026-01-13T00:00:00Z`,
    );
    assert.deepEqual(ids(own), [placed.alice![2], placed.alice![1]]);
    for (const email of [bob.email, 'nobody@example.test']) {
      const res = await list(alice.token, `email=${encodeURIComponent(email)}`);
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
    }
  });

  const refusals: [string, string, string][] = [
    ['an e-mail without @', 'email=alice', 'query.email'],
    ['an empty e-mail', 'email=', 'query.email'],
    ['a date without a time', 'createdFrom=2026-01-11', 'query.createdFrom'],
    ['a time without a zone', 'createdTo=2026-01-11T10:00:00', 'query.createdTo'],
    ['a date that is not one', 'createdFrom=yesterday', 'query.createdFrom'],
    [
      'a range that ends before it starts',
      'createdFrom=2026-01-12T00:00:00Z&createdTo=2026-01-11T00:00:00Z',
      'query.createdTo',
    ],
    ['an empty range', 'createdFrom=2026-01-12T00:00:00Z&createdTo=2026-01-12T00:00:00Z', 'query.createdTo'],
    ['userId and email together', 'userId=usr_x&email=a%40b.c', 'query.email'],
    ['a repeated e-mail', 'email=a%40b.c&email=d%40e.f', 'query.email'],
  ];
  for (const [name, query, path] of refusals) {
    it(`refuses ${name}: 400 validation_failed at ${path}`, async () => {
      const res = await list(admin.token, query);
      assert.equal(res.status, 400);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(res.body.code, 'validation_failed');
      assert.ok(
        res.body.errors.some((e: { path: string }) => e.path === path),
        JSON.stringify(res.body.errors),
      );
    });
  }

  it('without a token the list is 401', async () => {
    const res = await call(app, 'GET', '/api/v1/orders?email=a%40b.c');
    assert.equal(res.status, 401);
  });
});
