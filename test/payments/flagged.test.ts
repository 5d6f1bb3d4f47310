import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expireOrders } from '../../src/modules/orders/index.ts';
import { call, type JsonResponse } from '../helpers.ts';
import {
  checkout,
  clearFaults,
  getOrder,
  newOrder,
  orderEvents,
  pay,
  paymentRow,
  postEvent,
  drainInbox,
  setFaults,
  settle,
  startPayment,
  startShop,
  stripeEvent,
  type Shop,
  type User,
} from './support.ts';

const TTL_S = 60;

// Money that does not match the order is held for an admin: listed, counted in /metrics, accepted or refunded
// (POST /admin/payments/:id/resolve); an order cancelled or expired meanwhile gives it back automatically.
describe('payments: flagged money is found and settled by admins', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({ env: { ORDER_TTL_SECONDS: String(TTL_S) } });
  });
  after(() => shop.close());

  const db = () => shop.app.database.db;
  const resolve = (paymentId: string, body: unknown, user: User = shop.admin): Promise<JsonResponse> =>
    call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/resolve`, { token: user.token, body });
  const list = (query: string, user: User = shop.support): Promise<JsonResponse> =>
    call(shop.app, 'GET', `/api/v1/admin/payments?${query}`, { token: user.token });
  const refundRows = (paymentId: string) =>
    db().selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).execute();
  const flaggedGauge = async (): Promise<number> => {
    const res = await fetch(`${shop.app.baseUrl}/metrics`);
    const line = (await res.text()).split('\n').find((l) => l.startsWith('fulcrum_payments_flagged '));
    assert.ok(line, 'fulcrum_payments_flagged is exported');
    return Number(line.split(' ')[1]);
  };
  /** The gateway's word: one `charge.refunded` event per refund of the payment's charge. */
  const gatewayRefunds = async (paymentId: string) => {
    const intent = (await paymentRow(shop, paymentId)).gateway_payment_intent_id!;
    const events = await shop.stripe.events.list({ type: 'charge.refunded', limit: 100 });
    return events.data.filter((e) => (e.data.object as { payment_intent?: string }).payment_intent === intent);
  };

  /**
   * Real money at the gateway that does not match the order: the order's price (and the payment's) is moved
   * to 3000 after the checkout session was made for 2500; the customer pays the session's 2500.
   */
  async function flaggedPayment(): Promise<{ orderId: string; paymentId: string; sessionId: string }> {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await db().updateTable('orders').set({ total_amount: 3000 }).where('id', '=', order.id).execute();
    await db().updateTable('payments').set({ amount: 3000 }).where('id', '=', payment.id).execute();
    await pay(shop, payment.sessionId);
    await settle(shop);
    const row = await paymentRow(shop, payment.id);
    assert.equal(row.status, 'PENDING');
    assert.match(row.flagged_reason ?? '', /received 2500 usd, expected 3000 usd/);
    return { orderId: order.id, paymentId: payment.id, sessionId: payment.sessionId };
  }

  it('lists flagged payments for support and admin (cursor pages, status filter) and counts them in /metrics', async () => {
    const before = await flaggedGauge();
    const a = await flaggedPayment();
    const b = await flaggedPayment();
    assert.equal(await flaggedGauge(), before + 2);

    const first = await list('flagged=true&limit=1');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.data.length, 1);
    assert.equal(first.body.data[0].id, b.paymentId, 'newest first');
    assert.equal(first.body.data[0].flagged, true);
    assert.deepEqual(first.body.data[0].captured, { amount: 2500, currency: 'usd' });
    assert.match(first.body.data[0].flaggedReason, /expected 3000 usd/);
    const second = await list(`flagged=true&limit=1&cursor=${first.body.nextCursor as string}`);
    assert.equal(second.body.data[0].id, a.paymentId);

    const all = await list('flagged=true&limit=100', shop.admin);
    assert.ok(all.body.data.every((p: { flagged: boolean; status: string }) => p.flagged && p.status === 'PENDING'));
    const notFlagged = await list('flagged=false&limit=100');
    assert.ok(!notFlagged.body.data.some((p: { id: string }) => p.id === a.paymentId));
    const pending = await list('status=PENDING&limit=100');
    assert.ok(pending.body.data.some((p: { id: string }) => p.id === a.paymentId));
    const succeeded = await list('status=SUCCEEDED&limit=100');
    assert.ok(!succeeded.body.data.some((p: { id: string }) => p.id === a.paymentId));

    assert.equal((await list('flagged=true', shop.customer)).status, 403);
    assert.equal((await list('flagged=maybe')).status, 400);
    assert.equal((await list('cursor=nonsense')).status, 400);

    // Settled: no longer flagged (neither listed nor counted).
    assert.equal((await resolve(a.paymentId, { action: 'refund' })).status, 200);
    assert.equal((await resolve(b.paymentId, { action: 'accept' })).status, 200);
    assert.equal(await flaggedGauge(), before);
    const after = await list('flagged=true&limit=100');
    assert.ok(!after.body.data.some((p: { id: string }) => p.id === a.paymentId || p.id === b.paymentId));
  });

  it('accept: the money becomes the order’s payment through the confirmation path; actor and reason recorded', async () => {
    const f = await flaggedPayment();
    assert.equal((await resolve(f.paymentId, { action: 'accept' }, shop.support)).status, 403);
    assert.equal((await resolve(f.paymentId, { action: 'accept' }, shop.customer)).status, 403);
    assert.equal((await resolve(f.paymentId, { action: 'keep' })).status, 400);
    assert.equal((await resolve('pay_unknown', { action: 'accept' })).status, 404);

    const res = await resolve(f.paymentId, { action: 'accept', reason: 'customer paid the old price; we honour it' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'SUCCEEDED');
    assert.equal(res.body.flagged, false);
    assert.deepEqual(res.body.amount, { amount: 2500, currency: 'usd' }, 'the payment is what was captured');
    const order = (await getOrder(shop, f.orderId)).body;
    assert.equal(order.status, 'PAID');
    assert.equal(order.payment.status, 'SUCCEEDED');
    const events = await orderEvents(shop, f.orderId);
    const accepted = events.find((e) => e.type === 'payment.flag_accepted');
    assert.equal(accepted?.actor, shop.admin.id);
    assert.match(accepted?.reason ?? '', /2500 usd accepted: customer paid the old price/);
    assert.ok(events.some((e) => e.type === 'order.paid' && e.actor === 'system:payments'));

    const again = await resolve(f.paymentId, { action: 'refund' });
    assert.equal(again.status, 409, 'no longer flagged');
    assert.equal(again.body.code, 'invalid_transition');
    // The payment now refunds like any other: at most what was captured.
    const refund = await call(shop.app, 'POST', `/api/v1/admin/payments/${f.paymentId}/refunds`, {
      token: shop.admin.token,
      body: { amount: 2501 },
      headers: { 'idempotency-key': `k-${f.paymentId}` },
    });
    assert.equal(refund.status, 409);
    assert.deepEqual(refund.body.refundable, { amount: 2500, currency: 'usd' });
  });

  it('refund: the money goes back in full at the gateway, the payment closes and the order may be paid again', async () => {
    const f = await flaggedPayment();
    assert.equal((await checkout(shop, f.orderId)).body.code, 'payment_already_pending');
    const res = await resolve(f.paymentId, {
      action: 'refund',
      reason: 'price changed; asked the customer to pay again',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'CANCELED');
    assert.deepEqual(res.body.refunded, { amount: 2500, currency: 'usd' });
    const refunds = await refundRows(f.paymentId);
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal(refunds[0]!.amount, 2500);
    assert.equal(refunds[0]!.initiated_by, shop.admin.id);
    assert.equal(refunds[0]!.reason, 'price changed; asked the customer to pay again');
    assert.equal((await gatewayRefunds(f.paymentId)).length, 1);
    const flagRefunded = (await orderEvents(shop, f.orderId)).find((e) => e.type === 'payment.flag_refunded');
    assert.equal(flagRefunded?.actor, shop.admin.id);
    assert.match(flagRefunded?.reason ?? '', /2500 usd refunded in full: price changed/);

    await settle(shop); // the refund's own events: nothing moves twice
    assert.equal((await refundRows(f.paymentId)).length, 1);
    assert.equal((await resolve(f.paymentId, { action: 'refund' })).status, 409);
    assert.equal((await resolve(f.paymentId, { action: 'accept' })).status, 409);

    const order = (await getOrder(shop, f.orderId)).body;
    assert.equal(order.status, 'CREATED');
    assert.deepEqual(order.refunded, { amount: 0, currency: 'usd' }, 'the order was never paid');
    const again = await checkout(shop, f.orderId);
    assert.equal(again.status, 201, JSON.stringify(again.body));
  });

  it('accept is refused for money in another currency; refund is what is left', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await postEvent(
      shop,
      stripeEvent('checkout.session.completed', {
        id: payment.sessionId,
        object: 'checkout.session',
        status: 'complete',
        payment_status: 'paid',
        amount_total: 2500,
        currency: 'eur',
        metadata: { orderId: order.id, paymentId: payment.id },
        payment_intent: `pi_forged_eur_${payment.id}`,
      }),
    );
    await drainInbox(shop);
    const res = await resolve(payment.id, { action: 'accept' });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'invalid_transition');
    assert.equal((await paymentRow(shop, payment.id)).status, 'PENDING');
    assert.equal((await getOrder(shop, order.id)).body.status, 'CREATED');
  });

  it('cancelling the order refunds the flagged money automatically; accept is then refused', async () => {
    const f = await flaggedPayment();
    const cancelled = await call(shop.app, 'POST', `/api/v1/orders/${f.orderId}/cancel`, {
      token: shop.customer.token,
      body: { reason: 'changed my mind' },
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const row = await paymentRow(shop, f.paymentId);
    assert.equal(row.status, 'CANCELED');
    assert.equal(row.refunded_amount, 2500);
    const refunds = await refundRows(f.paymentId);
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.reason, 'order_cancelled');
    assert.equal(refunds[0]!.initiated_by, 'system');
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal((await gatewayRefunds(f.paymentId)).length, 1);
    const auto = (await orderEvents(shop, f.orderId)).find((e) => e.type === 'payment.auto_refund');
    assert.match(auto?.reason ?? '', /order cancelled: changed my mind; refunding in full \(order_cancelled\)/);
    const accept = await resolve(f.paymentId, { action: 'accept' });
    assert.equal(accept.status, 409);
  });

  it('order expiry no longer waits on flagged money: the order is cancelled and the money refunded', async () => {
    const f = await flaggedPayment();
    const stockBefore = (
      await db().selectFrom('products').select('stock').where('id', '=', shop.product.id).executeTakeFirstOrThrow()
    ).stock;
    shop.clock.advance(TTL_S * 1000 + 1_000);
    await expireOrders({ db: db(), hooks: shop.app.payments.orderHooks }, shop.clock.now());
    const order = (await getOrder(shop, f.orderId)).body;
    assert.equal(order.status, 'CANCELLED');
    const stockAfter = (
      await db().selectFrom('products').select('stock').where('id', '=', shop.product.id).executeTakeFirstOrThrow()
    ).stock;
    assert.ok(stockAfter >= stockBefore + 2, 'stock released');
    const row = await paymentRow(shop, f.paymentId);
    assert.equal(row.status, 'CANCELED');
    const refunds = await refundRows(f.paymentId);
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal(refunds[0]!.reason, 'order_cancelled');
    const auto = (await orderEvents(shop, f.orderId)).find((e) => e.type === 'payment.auto_refund');
    assert.equal(auto?.actor, 'system:expiry');
    await settle(shop);
    assert.equal((await refundRows(f.paymentId)).length, 1);
  });

  it('mismatched money for an order already cancelled is refunded at once, never left for an admin', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await db().updateTable('orders').set({ total_amount: 3000 }).where('id', '=', order.id).execute();
    await db().updateTable('payments').set({ amount: 3000 }).where('id', '=', payment.id).execute();
    // The gateway cannot be reached while the order is cancelled: its checkout cannot be closed yet.
    await setFaults(shop, { apiErrorRate: 1 });
    let cancelled;
    try {
      cancelled = await call(shop.app, 'POST', `/api/v1/orders/${order.id}/cancel`, {
        token: shop.customer.token,
        body: {},
      });
    } finally {
      await clearFaults(shop);
    }
    assert.equal(cancelled.status, 200);
    await pay(shop, payment.sessionId); // the page was still open
    await settle(shop);
    const row = await paymentRow(shop, payment.id);
    assert.equal(row.status, 'CANCELED');
    assert.match(row.flagged_reason ?? '', /refunded automatically/);
    const refunds = await refundRows(payment.id);
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal(refunds[0]!.reason, 'order_cancelled');
    assert.equal((await resolve(payment.id, { action: 'refund' })).status, 409);
  });
});
