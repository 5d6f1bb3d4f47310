import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expireOrders } from '../../src/modules/orders/index.ts';
import { call } from '../helpers.ts';
import {
  checkout,
  clearFaults,
  drainInbox,
  getOrder,
  newOrder,
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

const TTL_S = 60;
/** Longer than an order's life here, so an asynchronous payment is still on its way when the order expires. */
const ASYNC_MS = 5 * 60_000;

describe('payments: order expiry asks the gateway first; manual payments', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({ env: { ORDER_TTL_SECONDS: String(TTL_S) }, sandbox: { asyncPaymentDelayMs: ASYNC_MS } });
  });
  after(() => shop.close());

  const expire = () =>
    expireOrders({ db: shop.app.database.db, hooks: shop.app.payments.orderHooks }, shop.clock.now());
  const pastExpiry = () => shop.clock.advance(TTL_S * 1000 + 1_000);
  const status = async (orderId: string) => (await getOrder(shop, orderId)).body.status as string;

  it('closes the open checkout at the gateway, then cancels the order', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    pastExpiry();
    assert.equal(await expire(), 1);
    assert.equal(await status(order.id), 'CANCELLED');
    assert.equal((await paymentRow(shop, payment.id)).status, 'CANCELED');
    assert.equal((await shop.stripe.checkout.sessions.retrieve(payment.sessionId)).status, 'expired');
    await settle(shop); // checkout.session.expired arrives after: nothing changes
    assert.equal((await paymentRow(shop, payment.id)).status, 'CANCELED');
  });

  it('paid at the gateway while the webhook is late: expiry confirms the payment instead of cancelling', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await setFaults(shop, { delayMs: 3_600_000 });
    try {
      await pay(shop, payment.sessionId);
    } finally {
      await clearFaults(shop);
    }
    pastExpiry();
    assert.equal(await expire(), 0);
    assert.equal(await status(order.id), 'PAID');
    await settle(shop);
    assert.equal(await status(order.id), 'PAID');
  });

  it('keeps the order while the gateway cannot answer or the money is on its way', async () => {
    const unreachable = await newOrder(shop);
    await startPayment(shop, unreachable.id);
    const processing = await newOrder(shop);
    const async = await startPayment(shop, processing.id);
    await pay(shop, async.sessionId, '4000000000003220'); // completed, unpaid: the money is on its way
    pastExpiry();
    await setFaults(shop, { apiErrorRate: 1 });
    try {
      assert.equal(await expire(), 0);
    } finally {
      await clearFaults(shop);
    }
    assert.equal(await status(unreachable.id), 'CREATED');
    assert.equal(await expire(), 1, 'the gateway answers now: the unpaid one is cancelled');
    assert.equal(await status(unreachable.id), 'CANCELLED');
    assert.equal(await status(processing.id), 'CREATED', 'the processing one waits');

    shop.clock.advance(ASYNC_MS);
    await waitForEvent(shop, 'checkout.session.async_payment_succeeded', async.sessionId);
    await settle(shop);
    assert.equal(await status(processing.id), 'PAID');
  });

  const confirm = (paymentId: string, user: User = shop.admin) =>
    call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/confirm`, { token: user.token });

  it('a manual payment waits for an admin to confirm the money arrived, through the same confirmation path', async () => {
    const order = await newOrder(shop);
    const res = await checkout(shop, order.id, shop.customer, { provider: 'manual' });
    assert.equal(res.status, 201);
    const payment = res.body.payment;
    assert.equal(payment.provider, 'manual');
    assert.equal(payment.status, 'PENDING');
    assert.equal(payment.checkoutUrl, null);

    assert.equal((await confirm(payment.id, shop.customer)).status, 403);
    assert.equal((await confirm(payment.id, shop.support)).status, 403);
    assert.equal((await confirm('pay_nope')).status, 404);
    const confirmed = await confirm(payment.id);
    assert.equal(confirmed.status, 200);
    assert.equal(confirmed.body.status, 'SUCCEEDED');
    assert.equal((await confirm(payment.id)).body.status, 'SUCCEEDED', 'confirming twice changes nothing');
    const view = (await getOrder(shop, order.id)).body;
    assert.equal(view.status, 'PAID');
    assert.equal(view.payment.id, payment.id);

    const refund = await call(shop.app, 'POST', `/api/v1/admin/payments/${payment.id}/refunds`, {
      token: shop.admin.token,
      body: { amount: 500, reason: 'paid back in cash' },
      headers: { 'idempotency-key': 'manual-refund-1' },
    });
    assert.equal(refund.status, 201);
    assert.equal(refund.body.refund.status, 'SUCCEEDED', 'recorded as given back by the same means');
    assert.equal((await paymentRow(shop, payment.id)).status, 'PARTIALLY_REFUNDED');

    const stripeOrder = await newOrder(shop);
    const stripePayment = await startPayment(shop, stripeOrder.id);
    const notManual = await confirm(stripePayment.id);
    assert.equal(notManual.status, 409);
    assert.equal(notManual.body.code, 'invalid_transition');
  });

  it('an expired order with a manual payment: the payment is cancelled with it', async () => {
    const order = await newOrder(shop);
    const payment = (await checkout(shop, order.id, shop.customer, { provider: 'manual' })).body.payment;
    pastExpiry();
    await expire();
    assert.equal(await status(order.id), 'CANCELLED');
    assert.equal((await paymentRow(shop, payment.id)).status, 'CANCELED');
    const late = await confirm(payment.id);
    assert.equal(late.status, 409, 'a cancelled manual payment is not confirmed');
    await drainInbox(shop);
  });
});
