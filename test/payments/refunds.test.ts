import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, type JsonResponse } from '../helpers.ts';
import {
  ASYNC_DELAY_MS,
  clearFaults,
  getOrder,
  newOrder,
  orderEvents,
  pay,
  paymentRow,
  setFaults,
  settle,
  startPayment,
  startShop,
  waitForEvent,
  type Shop,
  type User,
} from './support.ts';

describe('payments: refunds', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  async function paidOrder(
    card = '4242424242424242',
  ): Promise<{ orderId: string; paymentId: string; sessionId: string }> {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId, card);
    await settle(shop);
    return { orderId: order.id, paymentId: payment.id, sessionId: payment.sessionId };
  }

  const refund = (
    paymentId: string,
    body: unknown,
    user: User = shop.admin,
    key = randomUUID(),
  ): Promise<JsonResponse> =>
    call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
      token: user.token,
      body,
      headers: { 'idempotency-key': key },
    });
  const refundRows = (paymentId: string) =>
    shop.app.database.db.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).execute();

  it('refunds in part, then the rest: PARTIALLY_REFUNDED, REFUNDED, the order follows; never more than captured', async () => {
    const { orderId, paymentId } = await paidOrder();
    const first = await refund(paymentId, { amount: 1000, reason: 'damaged' });
    assert.equal(first.status, 201);
    assert.deepEqual(Object.keys(first.body.refund).sort(), [
      'amount',
      'createdAt',
      'id',
      'paymentId',
      'reason',
      'status',
    ]);
    assert.equal(first.body.refund.status, 'SUCCEEDED');
    assert.deepEqual(first.body.refund.amount, { amount: 1000, currency: 'usd' });
    assert.equal(first.body.refund.reason, 'damaged');
    let order = (await getOrder(shop, orderId)).body;
    assert.equal(order.status, 'PAID', 'a refund does not cancel the order');
    assert.deepEqual(order.refunded, { amount: 1000, currency: 'usd' });
    assert.equal(order.payment.status, 'PARTIALLY_REFUNDED');
    assert.deepEqual(order.payment.refunded, { amount: 1000, currency: 'usd' });

    const tooMuch = await refund(paymentId, { amount: 2000 });
    assert.equal(tooMuch.status, 409);
    assert.equal(tooMuch.body.code, 'refund_exceeds_captured');
    assert.deepEqual(tooMuch.body.refundable, { amount: 1500, currency: 'usd' });

    const rest = await refund(paymentId, {});
    assert.equal(rest.status, 201);
    assert.deepEqual(rest.body.refund.amount, { amount: 1500, currency: 'usd' });
    const nothingLeft = await refund(paymentId, {});
    assert.equal(nothingLeft.status, 409);
    assert.equal(nothingLeft.body.code, 'refund_exceeds_captured');

    await settle(shop); // the gateway's refund events: nothing changes twice
    order = (await getOrder(shop, orderId)).body;
    assert.equal(order.payment.status, 'REFUNDED');
    assert.deepEqual(order.refunded, order.total);
    assert.equal((await refundRows(paymentId)).length, 2);
    const audit = (await orderEvents(shop, orderId)).map((e) => e.type).filter((t) => t.startsWith('refund.'));
    assert.deepEqual(audit, ['refund.requested', 'refund.succeeded', 'refund.requested', 'refund.succeeded']);
  });

  it('two refunds at once never exceed what was captured', async () => {
    const { paymentId } = await paidOrder();
    const answers = await Promise.all([refund(paymentId, { amount: 1500 }), refund(paymentId, { amount: 1500 })]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
    assert.equal((await paymentRow(shop, paymentId)).refunded_amount, 1500);
  });

  it('a retried refund (same Idempotency-Key) refunds once', async () => {
    const { paymentId } = await paidOrder();
    const first = await refund(paymentId, { amount: 700 }, shop.admin, 'refund-key-1' as never);
    const again = await refund(paymentId, { amount: 700 }, shop.admin, 'refund-key-1' as never);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.refund.id, first.body.refund.id);
    assert.equal((await refundRows(paymentId)).length, 1);
    assert.equal((await paymentRow(shop, paymentId)).refunded_amount, 700);
  });

  it('refuses customers, support, a missing key, unknown and uncaptured payments', async () => {
    const { paymentId } = await paidOrder();
    assert.equal((await refund(paymentId, {}, shop.customer)).status, 403);
    assert.equal((await refund(paymentId, {}, shop.support)).status, 403);
    const noKey = await call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
      token: shop.admin.token,
      body: {},
    });
    assert.equal(noKey.body.code, 'idempotency_key_required');
    assert.equal((await refund(paymentId, { amount: 0 })).status, 400);
    assert.equal((await refund(paymentId, { amount: 10.5 })).status, 400);
    assert.equal((await refund('pay_nope', {})).status, 404);
    const pending = await startPayment(shop, (await newOrder(shop)).id);
    const nothing = await refund(pending.id, {});
    assert.equal(nothing.status, 409);
    assert.equal(nothing.body.code, 'refund_exceeds_captured');
    assert.equal((await refundRows(paymentId)).length, 0);
  });

  it('follows the gateway: a refund that fails later ends FAILED and the payment is whole again', async () => {
    const { orderId, paymentId } = await paidOrder('4000000000005126');
    const res = await refund(paymentId, {});
    assert.equal(res.status, 201);
    assert.equal(res.body.refund.status, 'PENDING');
    await settle(shop);
    assert.equal((await paymentRow(shop, paymentId)).status, 'SUCCEEDED', 'not refunded until the gateway says so');
    const [row] = await refundRows(paymentId);
    shop.clock.advance(ASYNC_DELAY_MS + 1_000);
    await waitForEvent(shop, 'refund.failed', row!.gateway_refund_id!);
    await settle(shop);
    const [failed] = await refundRows(paymentId);
    assert.equal(failed!.status, 'FAILED');
    assert.ok(failed!.failure_reason);
    const order = (await getOrder(shop, orderId)).body;
    assert.equal(order.payment.status, 'SUCCEEDED');
    assert.deepEqual(order.refunded, { amount: 0, currency: 'usd' });
    assert.ok((await orderEvents(shop, orderId)).some((e) => e.type === 'refund.failed'));
    const retry = await refund(paymentId, { amount: 100 });
    assert.equal(retry.status, 201, 'a failed refund gives its amount back to refund');
  });

  it('with the gateway unreachable the refund waits PENDING; reconciliation sends it, once', async () => {
    const { paymentId } = await paidOrder();
    await setFaults(shop, { apiErrorRate: 1 });
    let res;
    try {
      res = await refund(paymentId, { amount: 400 });
    } finally {
      await clearFaults(shop);
    }
    assert.equal(res.status, 201);
    assert.equal(res.body.refund.status, 'PENDING');
    assert.equal((await refundRows(paymentId))[0]!.gateway_refund_id, null);
    await shop.app.payments.reconcileOnce();
    await shop.app.payments.reconcileOnce();
    const rows = await refundRows(paymentId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'SUCCEEDED');
    assert.equal((await paymentRow(shop, paymentId)).refunded_amount, 400);
    const got = await call(shop.app, 'GET', `/api/v1/payments/${paymentId}`, { token: shop.customer.token });
    assert.deepEqual(got.body.refunded, { amount: 400, currency: 'usd' });
  });

  it('an admin cancelling a PAID order refunds it in full; the customer may not cancel it', async () => {
    const { orderId, paymentId } = await paidOrder();
    const cancel = (user: User) =>
      call(shop.app, 'POST', `/api/v1/orders/${orderId}/cancel`, {
        token: user.token,
        body: { reason: 'out of stock' },
      });
    const byOwner = await cancel(shop.customer);
    assert.equal(byOwner.status, 409);
    assert.equal(byOwner.body.code, 'invalid_transition');
    const byAdmin = await cancel(shop.admin);
    assert.equal(byAdmin.status, 200);
    assert.equal(byAdmin.body.status, 'CANCELLED');
    assert.deepEqual(byAdmin.body.refunded, byAdmin.body.total);
    assert.equal(byAdmin.body.payment.status, 'REFUNDED');
    const [row] = await refundRows(paymentId);
    assert.equal(row!.reason, 'order cancelled: out of stock');
    assert.equal(row!.initiated_by, shop.admin.id);
    const types = (await orderEvents(shop, orderId)).map((e) => e.type);
    assert.deepEqual(types.slice(-3), ['order.cancelled', 'refund.requested', 'refund.succeeded']);
  });

  it('records a refund made at the gateway directly from its events', async () => {
    const { orderId, paymentId, sessionId } = await paidOrder();
    const intent = (await shop.stripe.checkout.sessions.retrieve(sessionId)).payment_intent as string;
    await shop.stripe.refunds.create({ payment_intent: intent, amount: 500 });
    await settle(shop);
    const rows = await refundRows(paymentId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.initiated_by, 'gateway');
    assert.equal(rows[0]!.status, 'SUCCEEDED');
    const order = (await getOrder(shop, orderId)).body;
    assert.equal(order.payment.status, 'PARTIALLY_REFUNDED');
    assert.deepEqual(order.refunded, { amount: 500, currency: 'usd' });
  });
});
