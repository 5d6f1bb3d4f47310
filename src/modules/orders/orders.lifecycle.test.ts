import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type JsonResponse, type TestApp } from '../../../test/helpers.ts';
import { createProduct, markPaid, placeOrder, stockOf, type TestProduct } from '../../../test/shop.ts';
import { numberEvents } from '../realtime/index.ts';

type User = Awaited<ReturnType<typeof createUser>>;

describe('orders: reading, cancelling, shipping', () => {
  let app: TestApp;
  let admin: User;
  let support: User;
  let alice: User;
  let bob: User;
  let product: TestProduct;

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    support = await createUser(app, 'support');
    alice = await createUser(app, 'customer');
    bob = await createUser(app, 'customer');
    product = await createProduct(app, admin.token, { stock: 1000 });
  });
  after(() => app.close());

  const order = async (user: User, quantity = 1): Promise<{ id: string; createdAt: string }> => {
    const res = await placeOrder(app, user.token, { items: [{ productId: product.id, quantity }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  const post = (path: string, token: string, body?: unknown) =>
    call(app, 'POST', path, body === undefined ? { token } : { token, body });

  it('lists the caller’s own orders newest first, page by page', async () => {
    const mine = [await order(alice), await order(alice), await order(alice)];
    await order(bob);
    const seen: string[] = [];
    let path: string | null = '/api/v1/orders?limit=2';
    while (path !== null) {
      const res: JsonResponse = await call(app, 'GET', path, { token: alice.token });
      assert.equal(res.status, 200);
      for (const o of res.body.data) assert.equal(o.userId, alice.id);
      seen.push(...res.body.data.map((o: { id: string }) => o.id));
      path = res.body.nextCursor === null ? null : `/api/v1/orders?limit=2&cursor=${res.body.nextCursor}`;
    }
    assert.deepEqual(
      seen.filter((id) => mine.some((m) => m.id === id)),
      mine.map((m) => m.id).reverse(),
    );
    assert.equal(new Set(seen).size, seen.length);
  });

  it('lets staff list everyone’s orders with userId and status filters; customers only their own', async () => {
    const bobs = await order(bob);
    const all = await call(app, 'GET', '/api/v1/orders?limit=100', { token: support.token });
    assert.ok(all.body.data.some((o: { userId: string }) => o.userId === alice.id));
    assert.ok(all.body.data.some((o: { userId: string }) => o.userId === bob.id));
    const onlyBob = await call(app, 'GET', `/api/v1/orders?limit=100&userId=${bob.id}`, { token: admin.token });
    assert.ok(onlyBob.body.data.every((o: { userId: string }) => o.userId === bob.id));
    assert.ok(onlyBob.body.data.some((o: { id: string }) => o.id === bobs.id));
    await markPaid(app, bobs.id);
    const paid = await call(app, 'GET', '/api/v1/orders?status=PAID&limit=100', { token: admin.token });
    assert.ok(paid.body.data.some((o: { id: string }) => o.id === bobs.id));
    assert.ok(paid.body.data.every((o: { status: string }) => o.status === 'PAID'));
    const snoop = await call(app, 'GET', `/api/v1/orders?userId=${bob.id}`, { token: alice.token });
    assert.equal(snoop.status, 403);
    const own = await call(app, 'GET', `/api/v1/orders?userId=${alice.id}`, { token: alice.token });
    assert.equal(own.status, 200);
    const bad = await call(app, 'GET', '/api/v1/orders?status=LOST', { token: admin.token });
    assert.equal(bad.status, 400);
  });

  it('answers 404 for another customer’s order on every order route, and 403 on admin routes', async () => {
    const bobs = await order(bob);
    const attempts = [
      await call(app, 'GET', `/api/v1/orders/${bobs.id}`, { token: alice.token }),
      await call(app, 'GET', `/api/v1/orders/${bobs.id}/events`, { token: alice.token }),
      await post(`/api/v1/orders/${bobs.id}/cancel`, alice.token, {}),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'not_found');
    }
    // Same answer as for an order that does not exist: existence is not revealed.
    const missing = await call(app, 'GET', '/api/v1/orders/ord_nope', { token: alice.token });
    assert.deepEqual({ ...missing.body, instance: undefined }, { ...attempts[0]!.body, instance: undefined });
    for (const path of [`/api/v1/admin/orders/${bobs.id}/ship`, `/api/v1/admin/orders/${bobs.id}/deliver`]) {
      const res = await post(
        path,
        alice.token,
        path.endsWith('ship') ? { carrier: 'X', trackingNumber: 'Y' } : undefined,
      );
      assert.equal(res.status, 403);
    }
    const stillCreated = await call(app, 'GET', `/api/v1/orders/${bobs.id}`, { token: bob.token });
    assert.equal(stillCreated.body.status, 'CREATED');
  });

  it('lets the owner cancel a CREATED order once; stock goes back and the trail records it', async () => {
    const before = await stockOf(app, product.id);
    const o = await order(alice, 3);
    assert.equal(await stockOf(app, product.id), before - 3);
    const res = await post(`/api/v1/orders/${o.id}/cancel`, alice.token, { reason: 'changed my mind' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'CANCELLED');
    assert.equal(res.body.cancellationReason, 'changed my mind');
    assert.ok(res.body.cancelledAt);
    assert.equal(await stockOf(app, product.id), before);
    const again = await post(`/api/v1/orders/${o.id}/cancel`, alice.token, {});
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'invalid_transition');
    assert.equal(await stockOf(app, product.id), before);
    const events = await call(app, 'GET', `/api/v1/orders/${o.id}/events`, { token: alice.token });
    assert.deepEqual(
      events.body.data.map((e: Record<string, unknown>) => [e.seq, e.type, e.from, e.to, e.actor, e.reason]),
      [
        [1, 'order.created', null, 'CREATED', alice.id, null],
        [2, 'order.cancelled', 'CREATED', 'CANCELLED', alice.id, 'changed my mind'],
      ],
    );
  });

  it('lets an admin cancel a CREATED order (no body needed); support may read but not cancel', async () => {
    const o = await order(alice);
    const bySupport = await post(`/api/v1/orders/${o.id}/cancel`, support.token, {});
    assert.equal(bySupport.status, 403);
    assert.equal((await call(app, 'GET', `/api/v1/orders/${o.id}`, { token: support.token })).status, 200);
    const byAdmin = await post(`/api/v1/orders/${o.id}/cancel`, admin.token);
    assert.equal(byAdmin.status, 200);
    assert.equal(byAdmin.body.status, 'CANCELLED');
  });

  it('refuses the owner cancelling a PAID order with 409; an admin may (payments refunds it, see test/payments)', async () => {
    const before = await stockOf(app, product.id);
    const o = await order(alice);
    await markPaid(app, o.id);
    const res = await post(`/api/v1/orders/${o.id}/cancel`, alice.token, {});
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'invalid_transition');
    assert.equal(await stockOf(app, product.id), before - 1, 'a paid order keeps its units');
    const byAdmin = await post(`/api/v1/orders/${o.id}/cancel`, admin.token, {});
    assert.equal(byAdmin.status, 200);
    assert.equal(byAdmin.body.status, 'CANCELLED');
    assert.equal(await stockOf(app, product.id), before, 'the units go back');
  });

  it('ships a PAID order and delivers a SHIPPED one (admin), in that order only', async () => {
    const o = await order(alice);
    const early = await post(`/api/v1/admin/orders/${o.id}/ship`, admin.token, {
      carrier: 'DHL',
      trackingNumber: '1Z',
    });
    assert.equal(early.status, 409);
    assert.equal(early.body.code, 'invalid_transition');
    await markPaid(app, o.id);
    const paid = await call(app, 'GET', `/api/v1/orders/${o.id}`, { token: alice.token });
    assert.equal(paid.body.status, 'PAID');
    assert.ok(paid.body.paidAt);
    assert.equal((await post(`/api/v1/admin/orders/${o.id}/deliver`, admin.token)).status, 409);
    const badBody = await post(`/api/v1/admin/orders/${o.id}/ship`, admin.token, { carrier: 'DHL' });
    assert.equal(badBody.status, 400);
    const shipped = await post(`/api/v1/admin/orders/${o.id}/ship`, admin.token, {
      carrier: 'DHL',
      trackingNumber: '1Z',
    });
    assert.equal(shipped.status, 200);
    assert.equal(shipped.body.status, 'SHIPPED');
    assert.deepEqual(
      { ...shipped.body.shipment, shippedAt: undefined },
      {
        carrier: 'DHL',
        trackingNumber: '1Z',
        shippedAt: undefined,
        deliveredAt: null,
      },
    );
    assert.equal((await post(`/api/v1/orders/${o.id}/cancel`, admin.token, {})).status, 409);
    const delivered = await post(`/api/v1/admin/orders/${o.id}/deliver`, admin.token);
    assert.equal(delivered.status, 200);
    assert.equal(delivered.body.status, 'DELIVERED');
    assert.ok(delivered.body.shipment.deliveredAt);
    const events = await call(app, 'GET', `/api/v1/orders/${o.id}/events`, { token: alice.token });
    assert.deepEqual(
      events.body.data.map((e: { type: string; actor: string }) => [e.type, e.actor]),
      [
        ['order.created', alice.id],
        ['order.paid', 'system:payments'],
        ['order.shipped', admin.id],
        ['order.delivered', admin.id],
      ],
    );
    // The relay numbers rows as it publishes them; none runs here, so number them as it would.
    await numberEvents(app.database.db, 1000);
    const outbox = await app.database.db
      .selectFrom('outbox')
      .select(['event_id', 'payload'])
      .where('user_id', '=', alice.id)
      .orderBy('event_id')
      .execute();
    const statuses = outbox
      .filter((m) => (m.payload as { orderId: string }).orderId === o.id)
      .map((m) => (m.payload as { status: string }).status);
    assert.deepEqual(statuses, ['CREATED', 'PAID', 'SHIPPED', 'DELIVERED']);
    assert.deepEqual(
      outbox.map((m) => Number(m.event_id)),
      outbox.map((_, i) => i + 1),
      'per-user eventIds have no gaps',
    );
    assert.equal((await post(`/api/v1/admin/orders/ord_nope/deliver`, admin.token)).status, 404);
  });
});
