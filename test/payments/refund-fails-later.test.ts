import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import {
  ASYNC_DELAY_MS,
  getOrder,
  newOrder,
  pay,
  paymentRow,
  settle,
  startPayment,
  startShop,
  waitForEvent,
  type Shop,
} from './support.ts';

// The gateway accepts a refund and fails it later (4000 0000 0000 5134: succeeded, then failed; 5126:
// pending, then failed). Money Fulcrum owes the customer is then back with the shop: an admin must see it.
describe('payments: a refund the gateway fails after accepting it', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const flagged = async (): Promise<{ id: string; flagged: boolean; flaggedReason: string | null }[]> => {
    const res = await call(shop.app, 'GET', '/api/v1/admin/payments?flagged=true', { token: shop.admin.token });
    assert.equal(res.status, 200);
    return res.body.data;
  };

  for (const card of ['4000000000005134', '4000000000005126']) {
    it(`a cancelled paid order whose refund fails later (${card}) is flagged for an admin until the money goes back`, async () => {
      const order = await newOrder(shop);
      const payment = await startPayment(shop, order.id);
      await pay(shop, payment.sessionId, card);
      await settle(shop);
      const cancelled = await call(shop.app, 'POST', `/api/v1/orders/${order.id}/cancel`, {
        token: shop.admin.token,
        body: { reason: 'out of stock' },
      });
      assert.equal(cancelled.status, 200);
      await settle(shop);
      assert.equal(
        (await flagged()).some((p) => p.id === payment.id),
        false,
        'the refund is under way',
      );

      const [refund] = await shop.app.database.db
        .selectFrom('refunds')
        .selectAll()
        .where('payment_id', '=', payment.id)
        .execute();
      shop.clock.advance(ASYNC_DELAY_MS + 1_000);
      await waitForEvent(shop, 'refund.failed', refund!.gateway_refund_id!);
      await settle(shop);

      const row = await paymentRow(shop, payment.id);
      assert.equal(row.status, 'SUCCEEDED', 'the money is back with the shop');
      assert.equal((await getOrder(shop, order.id)).body.status, 'CANCELLED');
      const listed = (await flagged()).find((p) => p.id === payment.id);
      assert.ok(listed, 'an admin sees the money the cancelled order still holds');
      assert.equal(listed.flagged, true);
      assert.match(listed.flaggedReason ?? '', /refund .* failed/);

      // The admin refunds it again (here the card fails every refund: it stays flagged until one succeeds).
      const retry = await call(shop.app, 'POST', `/api/v1/admin/payments/${payment.id}/refunds`, {
        token: shop.admin.token,
        body: {},
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(retry.status, 201);
      assert.equal(
        (await flagged()).some((p) => p.id === payment.id),
        false,
        'a refund is under way again',
      );
    });
  }
});
