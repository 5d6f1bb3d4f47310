import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../helpers.ts';
import { createProduct, placeOrder } from '../shop.ts';

type User = Awaited<ReturnType<typeof createUser>>;

// GET /api/v1/orders/:id/payments: the order detail's payments and refunds (docs/api.md § Payments).
describe('GET /orders/:id/payments: every payment of an order with its refunds', () => {
  let app: TestApp;
  let admin: User;
  let support: User;
  let alice: User;
  let bob: User;
  let orderId: string;
  let paymentId: string;

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    support = await createUser(app, 'support');
    alice = await createUser(app, 'customer');
    bob = await createUser(app, 'customer');
    const product = await createProduct(app, admin.token, { price: { amount: 2000, currency: 'usd' } });
    const order = await placeOrder(app, alice.token, { items: [{ productId: product.id, quantity: 1 }] });
    orderId = order.body.id;
    const key = { 'idempotency-key': randomUUID() };
    const checkout = await call(app, 'POST', `/api/v1/orders/${orderId}/checkout`, {
      token: alice.token,
      body: { provider: 'manual' },
      headers: key,
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    paymentId = checkout.body.payment.id;
    const confirmed = await call(app, 'POST', `/api/v1/admin/payments/${paymentId}/confirm`, { token: admin.token });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    for (const [amount, reason] of [
      [300, 'scratched'],
      [200, 'late'],
    ] as const) {
      const refund = await call(app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
        token: admin.token,
        body: { amount, reason },
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(refund.status, 201, JSON.stringify(refund.body));
    }
  });
  after(() => app.close());

  it('the owner and staff read the payments, oldest first, each with its refunds', async () => {
    for (const user of [alice, support, admin]) {
      const res = await call(app, 'GET', `/api/v1/orders/${orderId}/payments`, { token: user.token });
      assert.equal(res.status, 200);
      assert.equal(res.body.data.length, 1);
      const [payment] = res.body.data;
      assert.equal(payment.id, paymentId);
      assert.equal(payment.orderId, orderId);
      assert.equal(payment.provider, 'manual');
      assert.equal(payment.status, 'PARTIALLY_REFUNDED');
      assert.deepEqual(payment.refunded, { amount: 500, currency: 'usd' });
      assert.deepEqual(
        payment.refunds.map((r: { amount: unknown; reason: string; status: string; paymentId: string }) => [
          r.amount,
          r.reason,
          r.status,
          r.paymentId,
        ]),
        [
          [{ amount: 300, currency: 'usd' }, 'scratched', 'SUCCEEDED', paymentId],
          [{ amount: 200, currency: 'usd' }, 'late', 'SUCCEEDED', paymentId],
        ],
      );
    }
  });

  it('an order without payments has an empty list', async () => {
    const product = await createProduct(app, admin.token);
    const order = await placeOrder(app, bob.token, { items: [{ productId: product.id, quantity: 1 }] });
    const res = await call(app, 'GET', `/api/v1/orders/${order.body.id}/payments`, { token: bob.token });
    assert.deepEqual(res.body, { data: [] });
  });

  it('another customer’s order and an unknown one are 404; without a token 401; an id over 64 characters 400', async () => {
    for (const path of [`/api/v1/orders/${orderId}/payments`, '/api/v1/orders/ord_unknown/payments']) {
      const res = await call(app, 'GET', path, { token: bob.token });
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'not_found');
    }
    assert.equal((await call(app, 'GET', `/api/v1/orders/${orderId}/payments`)).status, 401);
    const long = await call(app, 'GET', `/api/v1/orders/${'x'.repeat(65)}/payments`, { token: admin.token });
    assert.equal(long.status, 400);
    assert.equal(long.body.code, 'validation_failed');
  });
});
