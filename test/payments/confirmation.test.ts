import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import {
  ASYNC_DELAY_MS,
  checkout,
  clearFaults,
  drainInbox,
  flushWebhooks,
  getOrder,
  inboxRows,
  newOrder,
  orderEvents,
  outboxFor,
  pay,
  paymentRow,
  postEvent,
  setFaults,
  settle,
  startPayment,
  startShop,
  stripeEvent,
  waitForEvent,
  type Shop,
} from './support.ts';

describe('payments: one confirmation path for every gateway fact', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const succeededMessages = async (orderId: string) =>
    (await outboxFor(shop, orderId)).filter((m) => m.type === 'payment.updated' && m.status === 'SUCCEEDED').length;

  it('pays once whatever the order of arrival: reordered deliveries, or the payment intent first', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await setFaults(shop, { reorder: true, reorderWindowMs: 3_600_000 });
    try {
      await pay(shop, payment.sessionId);
      await settle(shop); // flush sends the held batch newest first
    } finally {
      await clearFaults(shop);
    }
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    assert.equal(await succeededMessages(order.id), 1);

    const second = await newOrder(shop);
    const p2 = await startPayment(shop, second.id);
    await setFaults(shop, { dropRate: 1 });
    try {
      await pay(shop, p2.sessionId);
    } finally {
      await clearFaults(shop);
    }
    const intentId = (await shop.stripe.checkout.sessions.retrieve(p2.sessionId)).payment_intent as string;
    const intentEvent = await waitForEvent(shop, 'payment_intent.succeeded', intentId);
    assert.equal((await postEvent(shop, intentEvent as never)).status, 200);
    await drainInbox(shop);
    assert.equal((await getOrder(shop, second.id)).body.status, 'PAID', 'the intent alone (metadata) pays');
    const completed = await waitForEvent(shop, 'checkout.session.completed', p2.sessionId);
    await postEvent(shop, completed as never);
    await drainInbox(shop);
    const row = (await inboxRows(shop)).find((r) => r.event_id === completed.id)!;
    assert.match(row.outcome ?? '', /^duplicate/);
    assert.equal(await succeededMessages(second.id), 1);
  });

  it('completed but unpaid waits as PENDING (processing); the asynchronous success pays', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId, '4000000000003220');
    await waitForEvent(shop, 'checkout.session.completed', payment.sessionId);
    await settle(shop);
    const waiting = await paymentRow(shop, payment.id);
    assert.equal(waiting.status, 'PENDING');
    assert.ok(waiting.gateway_payment_intent_id !== null);
    assert.equal((await getOrder(shop, order.id)).body.status, 'CREATED');
    const pending = (await outboxFor(shop, order.id)).filter((m) => m.type === 'payment.updated');
    assert.deepEqual(
      pending.map((m) => m.status),
      ['PENDING', 'PENDING'],
      'created, then processing',
    );

    shop.clock.advance(ASYNC_DELAY_MS + 1_000);
    await waitForEvent(shop, 'checkout.session.async_payment_succeeded', payment.sessionId);
    await settle(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
  });

  it('completed but unpaid, then the asynchronous failure: FAILED, and the customer may pay again', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId, '4000000000003238');
    shop.clock.advance(ASYNC_DELAY_MS + 1_000);
    await waitForEvent(shop, 'checkout.session.async_payment_failed', payment.sessionId);
    await settle(shop);
    const failed = await paymentRow(shop, payment.id);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.failure_reason, 'async_payment_failed');
    assert.equal((await getOrder(shop, order.id)).body.status, 'CREATED');
    const retry = await startPayment(shop, order.id);
    assert.notEqual(retry.id, payment.id);
    await pay(shop, retry.sessionId);
    await settle(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
  });

  it('a declined card (payment_intent.payment_failed) leaves the payment PENDING with the reason; another card pays', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId, '4000000000009995');
    await settle(shop);
    const declined = await call(shop.app, 'GET', `/api/v1/payments/${payment.id}`, { token: shop.customer.token });
    assert.equal(declined.body.status, 'PENDING');
    assert.equal(declined.body.failureReason, 'card_declined: insufficient_funds');
    assert.equal(declined.body.checkoutUrl, payment.checkoutUrl, 'the same checkout can be tried again');
    await pay(shop, payment.sessionId);
    await settle(shop);
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
  });

  it('checkout.session.expired expires the payment; the order stays payable', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await shop.stripe.checkout.sessions.expire(payment.sessionId);
    await settle(shop);
    const expired = await call(shop.app, 'GET', `/api/v1/payments/${payment.id}`, { token: shop.customer.token });
    assert.equal(expired.body.status, 'EXPIRED');
    assert.equal(expired.body.checkoutUrl, null);
    assert.equal((await getOrder(shop, order.id)).body.status, 'CREATED');
    assert.equal((await checkout(shop, order.id)).status, 201);
  });

  it('money that does not match the order (amount or currency) is not paid: flagged and recorded', async () => {
    for (const [amount, currency] of [
      [1, 'usd'],
      [2500, 'eur'],
    ] as const) {
      const order = await newOrder(shop);
      const payment = await startPayment(shop, order.id);
      const forged = stripeEvent('checkout.session.completed', {
        id: payment.sessionId,
        object: 'checkout.session',
        status: 'complete',
        payment_status: 'paid',
        amount_total: amount,
        currency,
        metadata: { orderId: order.id, paymentId: payment.id },
        payment_intent: `pi_forged_${currency}`,
      });
      await postEvent(shop, forged);
      await drainInbox(shop);
      await postEvent(shop, { ...forged, id: `${forged.id as string}_again` });
      await drainInbox(shop);
      const row = await paymentRow(shop, payment.id);
      assert.equal(row.status, 'PENDING', 'not paid');
      assert.match(row.flagged_reason ?? '', new RegExp(`received ${amount} ${currency}, expected 2500 usd`));
      const view = await getOrder(shop, order.id);
      assert.equal(view.body.status, 'CREATED');
      assert.equal(view.body.payment.flaggedReason, row.flagged_reason);
      const flags = (await orderEvents(shop, order.id)).filter((e) => e.type === 'payment.flagged');
      assert.equal(flags.length, 1, 'recorded once');
      assert.equal((await checkout(shop, order.id)).body.code, 'payment_already_pending', 'left for an admin');
    }
  });

  it('money for a cancelled order is refunded in full automatically, and why is recorded', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
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
    await pay(shop, payment.sessionId); // the customer still had the page open
    await settle(shop);
    const view = await getOrder(shop, order.id);
    assert.equal(view.body.status, 'CANCELLED');
    assert.deepEqual(view.body.refunded, { amount: 2500, currency: 'usd' });
    assert.equal(view.body.payment.status, 'REFUNDED');
    const refunds = await shop.app.database.db
      .selectFrom('refunds')
      .selectAll()
      .where('payment_id', '=', payment.id)
      .execute();
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal(refunds[0]!.reason, 'order_cancelled');
    assert.equal(refunds[0]!.initiated_by, 'system');
    const intent = (await shop.stripe.checkout.sessions.retrieve(payment.sessionId)).payment_intent as string;
    const charge = (await shop.stripe.paymentIntents.retrieve(intent)).latest_charge as string;
    assert.ok(charge);
    const why = (await orderEvents(shop, order.id)).find((e) => e.type === 'payment.auto_refund');
    assert.match(why?.reason ?? '', /CANCELLED order; refunding in full/);
  });

  it('a payment held back while the customer cancels: PAID, or CANCELLED and refunded, never CANCELLED with the money', async () => {
    const cases = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const order = await newOrder(shop);
        return { order, payment: await startPayment(shop, order.id) };
      }),
    );
    await setFaults(shop, { delayMs: 3_600_000 });
    try {
      for (const c of cases) await pay(shop, c.payment.sessionId);
    } finally {
      await clearFaults(shop);
    }
    const cancels = await Promise.all([
      ...cases.map((c, i) =>
        (i % 2 === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, 5 * i))).then(() =>
          call(shop.app, 'POST', `/api/v1/orders/${c.order.id}/cancel`, { token: shop.customer.token, body: {} }),
        ),
      ),
      flushWebhooks(shop).then(() => drainInbox(shop)),
    ]);
    await drainInbox(shop);
    await shop.app.payments.reconcileOnce(); // whatever refund is still owed is asked for
    let paid = 0;
    let refunded = 0;
    for (const [i, c] of cases.entries()) {
      const view = (await getOrder(shop, c.order.id)).body;
      const cancelStatus = (cancels[i] as { status: number }).status;
      if (view.status === 'PAID') {
        paid += 1;
        assert.equal(view.payment.status, 'SUCCEEDED');
        assert.equal(cancelStatus, 409);
      } else {
        refunded += 1;
        assert.equal(view.status, 'CANCELLED');
        assert.equal(cancelStatus, 200);
        assert.equal(view.payment.status, 'REFUNDED', 'a cancelled order keeps no money');
        assert.deepEqual(view.refunded, view.total);
      }
    }
    assert.equal(paid + refunded, cases.length);
  });

  it('late money for a payment that is no longer the order’s active one is refunded once, the order stays paid', async () => {
    const refundsOf = (paymentId: string) =>
      shop.app.database.db.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).execute();
    const order = await newOrder(shop);
    const a = await startPayment(shop, order.id);
    // A's checkout is reported expired (the session in fact stays payable at the gateway a little longer)…
    await postEvent(
      shop,
      stripeEvent('checkout.session.expired', {
        id: a.sessionId,
        object: 'checkout.session',
        status: 'expired',
        payment_status: 'unpaid',
        metadata: { orderId: order.id, paymentId: a.id },
      }),
    );
    await drainInbox(shop);
    assert.equal((await paymentRow(shop, a.id)).status, 'EXPIRED');
    // …the order is paid by B…
    const b = await startPayment(shop, order.id);
    await pay(shop, b.sessionId);
    await settle(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    // …and then A's session is paid too, its events delivered twice.
    await setFaults(shop, { duplicate: 1 });
    try {
      await pay(shop, a.sessionId);
      await settle(shop);
    } finally {
      await clearFaults(shop);
    }
    const completed = await waitForEvent(shop, 'checkout.session.completed', a.sessionId);
    await postEvent(shop, { ...completed, id: `${completed.id}_again` }); // the same fact under another id
    await drainInbox(shop);
    await settle(shop);

    const row = await paymentRow(shop, a.id);
    assert.equal(row.status, 'EXPIRED', 'never a second money-holding payment of the order');
    assert.equal(row.captured_amount, 2500);
    assert.equal(row.refunded_amount, 2500);
    assert.equal(row.flagged_reason, null, 'nothing left for an admin');
    const refunds = await refundsOf(a.id);
    assert.equal(refunds.length, 1, 'refunded once');
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal(refunds[0]!.reason, 'duplicate_payment');
    assert.equal(refunds[0]!.initiated_by, 'system');
    const intent = (await shop.stripe.checkout.sessions.retrieve(a.sessionId)).payment_intent as string;
    assert.equal(row.gateway_payment_intent_id, intent);
    const atGateway = (await shop.stripe.events.list({ type: 'charge.refunded', limit: 100 })).data.filter(
      (e) => (e.data.object as { payment_intent?: string }).payment_intent === intent,
    );
    assert.equal(atGateway.length, 1, 'one refund at the gateway');

    const view = (await getOrder(shop, order.id)).body;
    assert.equal(view.status, 'PAID');
    assert.equal(view.payment.id, b.id);
    assert.equal(view.payment.status, 'SUCCEEDED');
    assert.deepEqual(view.refunded, { amount: 0, currency: 'usd' }, 'B keeps the order paid, untouched');
    const autos = (await orderEvents(shop, order.id)).filter((e) => e.type === 'payment.auto_refund');
    assert.equal(autos.length, 1);
    assert.match(
      autos[0]!.reason ?? '',
      new RegExp(`${a.id} \\(EXPIRED\\) received 2500 usd while ${b.id} is SUCCEEDED`),
    );
    assert.match(autos[0]!.reason ?? '', /duplicate_payment/);
  });

  it('late money for a cancelled order whose payment was refunded is refunded too', async () => {
    const order = await newOrder(shop);
    const a = await startPayment(shop, order.id);
    await postEvent(
      shop,
      stripeEvent('checkout.session.expired', {
        id: a.sessionId,
        object: 'checkout.session',
        status: 'expired',
        payment_status: 'unpaid',
        metadata: { orderId: order.id, paymentId: a.id },
      }),
    );
    await drainInbox(shop);
    const b = await startPayment(shop, order.id);
    await pay(shop, b.sessionId);
    await settle(shop);
    const cancelled = await call(shop.app, 'POST', `/api/v1/orders/${order.id}/cancel`, {
      token: shop.admin.token,
      body: { reason: 'out of stock' },
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    await settle(shop);
    assert.equal((await paymentRow(shop, b.id)).status, 'REFUNDED');
    await pay(shop, a.sessionId);
    await settle(shop);
    const row = await paymentRow(shop, a.id);
    assert.equal(row.status, 'EXPIRED');
    assert.equal(row.refunded_amount, 2500);
    const refunds = await shop.app.database.db
      .selectFrom('refunds')
      .selectAll()
      .where('payment_id', '=', a.id)
      .execute();
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.status, 'SUCCEEDED');
    assert.equal(refunds[0]!.reason, 'duplicate_payment');
    const view = (await getOrder(shop, order.id)).body;
    assert.equal(view.status, 'CANCELLED');
    assert.equal(view.payment.id, b.id);
    assert.deepEqual(view.refunded, { amount: 2500, currency: 'usd' });
  });

  it('never moves SUCCEEDED to FAILED: a late failure is recorded and ignored', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId);
    await settle(shop);
    const late = stripeEvent('checkout.session.async_payment_failed', {
      id: payment.sessionId,
      object: 'checkout.session',
      status: 'complete',
      payment_status: 'unpaid',
      amount_total: 2500,
      currency: 'usd',
      metadata: { orderId: order.id, paymentId: payment.id },
      payment_intent: null,
    });
    await postEvent(shop, late);
    await drainInbox(shop);
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    const row = (await inboxRows(shop)).find((r) => r.event_id === late.id)!;
    assert.equal(row.status, 'processed');
    assert.equal(row.outcome, 'ignored: late failure, payment is SUCCEEDED');
  });
});
