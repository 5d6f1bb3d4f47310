import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import {
  checkout,
  clearFaults,
  newOrder,
  pay,
  paymentRow,
  setFaults,
  settle,
  startPayment,
  startShop,
  waitFor,
  type Shop,
} from './support.ts';

// A cancelled order's checkout must not take money: found by npm run chaos, where a customer paid the hosted
// page of an order cancelled a second earlier (charged, then refunded automatically — or not at all when the
// refund failed). The session stayed open until reconciliation looked at the payment, minutes later.
describe('payments: cancelling an unpaid order closes its checkout', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const cancel = (orderId: string) =>
    call(shop.app, 'POST', `/api/v1/orders/${orderId}/cancel`, { token: shop.customer.token, body: {} });

  it('the session of a cancelled order can no longer be paid; its payment is CANCELED', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    assert.equal((await cancel(order.id)).status, 200);
    const paid = (await pay(shop, payment.sessionId)) as { outcome: string };
    assert.equal(paid.outcome, 'not_open', 'the hosted page no longer takes the money');
    await settle(shop);
    assert.equal((await paymentRow(shop, payment.id)).status, 'CANCELED');
  });

  it('a checkout whose session is made while the order is being cancelled closes that session too', async () => {
    const order = await newOrder(shop);
    // The gateway answers slowly: the order is cancelled while the checkout waits for its session.
    await setFaults(shop, { apiLatencyMs: 1500 });
    try {
      const started = checkout(shop, order.id);
      await waitFor('the PENDING payment', async () => {
        const rows = await shop.app.database.db
          .selectFrom('payments')
          .selectAll()
          .where('order_id', '=', order.id)
          .execute();
        return rows[0];
      });
      assert.equal((await cancel(order.id)).status, 200);
      const answered = await started;
      assert.equal(answered.status, 201, JSON.stringify(answered.body));
      const row = await paymentRow(shop, answered.body.payment.id as string);
      assert.ok(row.gateway_session_id, 'the session was made');
      const paid = (await pay(shop, row.gateway_session_id)) as { outcome: string };
      assert.equal(paid.outcome, 'not_open');
      await settle(shop);
      assert.equal((await paymentRow(shop, row.id)).status, 'CANCELED');
    } finally {
      await clearFaults(shop);
    }
  });
});
