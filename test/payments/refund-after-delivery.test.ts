import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import { getOrder, newOrder, pay, settle, startPayment, startShop, type Shop } from './support.ts';

// Issue 13 point 2: partial refunds on PAID, SHIPPED and DELIVERED orders without cancelling them. The order keeps
// its status; `refunded` says how much went back (docs/api.md § Orders, "Refunds after payment").
describe('payments: refunds of shipped and delivered orders', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const admin = () => shop.admin.token;
  const refund = (paymentId: string, amount: number, ifMatch: number) =>
    call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
      token: admin(),
      body: { amount, reason: 'scratched on arrival' },
      headers: { 'idempotency-key': randomUUID(), 'if-match': `"${ifMatch}"` },
    });

  it('a DELIVERED order refunded in part stays DELIVERED with `refunded` set; the rest can follow; never more', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId);
    await settle(shop);
    const post = (path: string, body?: unknown) =>
      call(shop.app, 'POST', path, { token: admin(), ...(body ? { body } : {}) });
    assert.equal(
      (await post(`/api/v1/admin/orders/${order.id}/ship`, { carrier: 'UPS', trackingNumber: '1Z' })).status,
      200,
    );
    assert.equal((await post(`/api/v1/admin/orders/${order.id}/deliver`)).status, 200);
    const delivered = (await getOrder(shop, order.id, shop.admin)).body;
    assert.equal(delivered.status, 'DELIVERED');

    const first = await refund(payment.id, 1250, delivered.version);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.refund.status, 'SUCCEEDED');
    const after1 = (await getOrder(shop, order.id, shop.admin)).body;
    assert.equal(after1.status, 'DELIVERED', 'a refund does not cancel or reopen the order');
    assert.equal(after1.refunded.amount, 1250);
    assert.equal(after1.payment.status, 'PARTIALLY_REFUNDED');
    assert.ok(after1.version > delivered.version);

    const rest = delivered.total.amount - 1250;
    const tooMuch = await refund(payment.id, rest + 1, after1.version);
    assert.equal(tooMuch.status, 409);
    assert.equal(tooMuch.body.code, 'refund_exceeds_captured');
    assert.equal(tooMuch.body.refundable.amount, rest);
    const second = await refund(payment.id, rest, after1.version);
    assert.equal(second.status, 201);
    const after2 = (await getOrder(shop, order.id, shop.admin)).body;
    assert.equal(after2.status, 'DELIVERED');
    assert.equal(after2.refunded.amount, delivered.total.amount);
    assert.equal(after2.payment.status, 'REFUNDED');
  });
});
