import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type JsonResponse, type TestApp } from '../../../test/helpers.ts';
import { createProduct, markPaid, placeOrder, stockOf, type TestProduct } from '../../../test/shop.ts';
import { transitionOrder } from './orders.transition.ts';

type User = Awaited<ReturnType<typeof createUser>>;

// Issue 13 point 1: version, ETag and If-Match on every state change of an order (docs/api.md § Versions).
describe('orders: versions, ETag and If-Match', () => {
  let app: TestApp;
  let admin: User;
  let admin2: User;
  let alice: User;
  let product: TestProduct;

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    admin2 = await createUser(app, 'admin');
    alice = await createUser(app, 'customer');
    product = await createProduct(app, admin.token, { stock: 1000 });
  });
  after(() => app.close());

  const newOrder = async (): Promise<{ id: string; version: number }> => {
    const res = await placeOrder(app, alice.token, { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  const get = (id: string, token = admin.token) => call(app, 'GET', `/api/v1/orders/${id}`, { token });
  const post = (path: string, token: string, ifMatch?: string, body?: unknown): Promise<JsonResponse> =>
    call(app, 'POST', path, {
      token,
      ...(body === undefined ? {} : { body }),
      ...(ifMatch === undefined ? {} : { headers: { 'if-match': ifMatch } }),
    });
  const ship = (id: string, ifMatch?: string, token = admin.token) =>
    post(`/api/v1/admin/orders/${id}/ship`, token, ifMatch, { carrier: 'DHL', trackingNumber: 'T1' });
  const deliver = (id: string, ifMatch?: string) => post(`/api/v1/admin/orders/${id}/deliver`, admin.token, ifMatch);
  const cancel = (id: string, ifMatch?: string, token = alice.token) =>
    post(`/api/v1/orders/${id}/cancel`, token, ifMatch, {});
  const eventCount = async (id: string) =>
    (await call(app, 'GET', `/api/v1/orders/${id}/events`, { token: admin.token })).body.data.length;
  const tag = (res: JsonResponse) => res.headers.get('etag');

  it('every answer with an order carries ETag "<version>", and every change increases the version', async () => {
    const placed = await placeOrder(app, alice.token, { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(placed.body.version, 1);
    assert.equal(tag(placed), '"1"');
    const read = await get(placed.body.id);
    assert.equal(tag(read), `"${read.body.version}"`);
    assert.equal(read.body.version, 1);
    await markPaid(app, placed.body.id);
    const paid = await get(placed.body.id);
    assert.ok(paid.body.version > 1, 'paying changed the order');
    const shipped = await ship(placed.body.id);
    assert.equal(shipped.status, 200);
    assert.ok(shipped.body.version > paid.body.version);
    assert.equal(tag(shipped), `"${shipped.body.version}"`);
    const delivered = await deliver(placed.body.id);
    assert.ok(delivered.body.version > shipped.body.version);
    assert.equal(tag(delivered), `"${delivered.body.version}"`);
    const listed = await call(app, 'GET', `/api/v1/orders?userId=${alice.id}`, { token: admin.token });
    assert.equal(listed.body.data.find((o: { id: string }) => o.id === placed.body.id).version, delivered.body.version);
  });

  it('a conditional GET is never answered 304: the payment can change while the version stays (no stale cache)', async () => {
    const order = await newOrder();
    const first = await get(order.id, alice.token);
    assert.equal(first.body.payment, null);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    const checkout = await call(app, 'POST', `/api/v1/orders/${order.id}/checkout`, {
      token: alice.token,
      headers: { 'idempotency-key': `if-none-match-${order.id}` },
      body: { provider: 'manual' },
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    // A browser that kept the first answer revalidates with its ETag; the version did not move, the payment did.
    const again = await call(app, 'GET', `/api/v1/orders/${order.id}`, {
      token: alice.token,
      headers: { 'if-none-match': tag(first)! },
    });
    assert.equal(again.body?.version, first.body.version, 'starting a payment does not change the order');
    assert.equal(again.status, 200);
    assert.equal(again.body.payment?.status, 'PENDING');
  });

  it('ship: the current version (or *) ships; an older one is 412 with the current order, and nothing is done', async () => {
    const order = await newOrder();
    await markPaid(app, order.id); // the admin's page still shows version 1 (CREATED)
    const before = await get(order.id);
    const events = await eventCount(order.id);
    const stale = await ship(order.id, `"${order.version}"`);
    assert.equal(stale.status, 412);
    assert.equal(stale.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(stale.body.code, 'precondition_failed');
    assert.equal(stale.body.order.id, order.id);
    assert.equal(stale.body.order.status, 'PAID');
    assert.equal(stale.body.order.version, before.body.version);
    assert.deepEqual((await get(order.id)).body, before.body, 'nothing changed');
    assert.equal(await eventCount(order.id), events);

    const fresh = await ship(order.id, `"${before.body.version}"`);
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.equal(fresh.body.status, 'SHIPPED');
    const other = await newOrder();
    await markPaid(app, other.id);
    assert.equal((await ship(other.id, '*')).status, 200);
    const listed = await newOrder();
    await markPaid(app, listed.id);
    const current = (await get(listed.id)).body.version;
    assert.equal(
      (await ship(listed.id, `"${current - 1}", "${current}"`)).status,
      200,
      'a list matches any of its tags',
    );
  });

  it('deliver: an older version is 412 and the order stays SHIPPED', async () => {
    const order = await newOrder();
    await markPaid(app, order.id);
    const shipped = await ship(order.id);
    const stale = await deliver(order.id, `"${shipped.body.version - 1}"`);
    assert.equal(stale.status, 412);
    assert.equal(stale.body.order.status, 'SHIPPED');
    assert.equal((await get(order.id)).body.status, 'SHIPPED');
    const ok = await deliver(order.id, `"${shipped.body.version}"`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'DELIVERED');
  });

  it('cancel: an order paid after the page read it is not cancelled (412 shows it PAID), its stock stays taken', async () => {
    const order = await newOrder();
    const stock = await stockOf(app, product.id);
    await markPaid(app, order.id);
    const stale = await cancel(order.id, `"${order.version}"`, admin.token);
    assert.equal(stale.status, 412);
    assert.equal(stale.body.order.status, 'PAID');
    assert.equal((await get(order.id)).body.status, 'PAID');
    assert.equal(await stockOf(app, product.id), stock, 'no stock released');
    // The owner's stale cancel is refused the same way.
    const mine = await newOrder();
    await markPaid(app, mine.id);
    const owner = await cancel(mine.id, `"${mine.version}"`);
    assert.equal(owner.status, 412);
    assert.equal(owner.body.order.status, 'PAID');

    const unpaid = await newOrder();
    const ok = await cancel(unpaid.id, `"${unpaid.version}"`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'CANCELLED');
    assert.equal(tag(ok), `"${ok.body.version}"`);
  });

  it('without If-Match the routes behave as before', async () => {
    const order = await newOrder();
    await markPaid(app, order.id);
    assert.equal((await ship(order.id)).status, 200);
    assert.equal((await deliver(order.id)).status, 200);
    const unpaid = await newOrder();
    assert.equal((await cancel(unpaid.id)).status, 200);
  });

  it('a malformed If-Match is 400 validation_failed at headers.If-Match, and nothing is done', async () => {
    const order = await newOrder();
    await markPaid(app, order.id);
    const before = await get(order.id);
    for (const header of ['3', '"3', 'W/3', '"1" "2"']) {
      const res = await ship(order.id, header);
      assert.equal(res.status, 400, header);
      assert.equal(res.body.code, 'validation_failed');
      assert.equal(res.body.errors[0].path, 'headers.If-Match');
      const cancelled = await cancel(order.id, header, admin.token);
      assert.equal(cancelled.status, 400, header);
    }
    assert.deepEqual((await get(order.id)).body, before.body);
    // A weak tag is well-formed but never matches (strong comparison).
    assert.equal((await ship(order.id, `W/"${before.body.version}"`)).status, 412);
  });

  it('two admins acting on the same version at once: exactly one wins, the other gets 412', async () => {
    for (let round = 0; round < 5; round++) {
      const order = await newOrder();
      await markPaid(app, order.id);
      const version = (await get(order.id)).body.version;
      const answers = await Promise.all([
        ship(order.id, `"${version}"`, admin.token),
        ship(order.id, `"${version}"`, admin2.token),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 412]);
      const loser = answers.find((a) => a.status === 412)!;
      assert.equal(loser.body.order.status, 'SHIPPED');
      const events = (await call(app, 'GET', `/api/v1/orders/${order.id}/events`, { token: admin.token })).body.data;
      assert.equal(events.filter((e: { type: string }) => e.type === 'order.shipped').length, 1);
    }
  });

  it('a change committed while the request waits for the order’s lock is seen: the check is made under the lock', async () => {
    const order = await newOrder();
    await markPaid(app, order.id);
    const version = (await get(order.id)).body.version;
    let request: Promise<JsonResponse> | undefined;
    await app.database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('orders').select('id').where('id', '=', order.id).forUpdate().execute();
      // The ship request read nothing yet that could let it through: it queues behind this transaction.
      request = ship(order.id, `"${version}"`);
      await new Promise((resolve) => setImmediate(resolve));
      await transitionOrder(trx, order.id, 'SHIPPED', {
        actor: { id: admin2.id, role: 'admin' },
        at: new Date(),
        shipment: { carrier: 'UPS', trackingNumber: 'RACE' },
      });
    });
    const res = await request!;
    assert.equal(res.status, 412);
    assert.equal(res.body.order.status, 'SHIPPED');
    assert.equal(res.body.order.shipment.trackingNumber, 'RACE', 'the other admin’s shipment stands');
  });
});
