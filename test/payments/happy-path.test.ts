import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser } from '../helpers.ts';
import {
  checkout,
  getOrder,
  newOrder,
  orderEvents,
  outboxFor,
  pay,
  paymentRow,
  settle,
  startShop,
  waitFor,
  type Shop,
} from './support.ts';

describe('payments: the happy path through the sandbox', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  it('checkout, pay on the sandbox, signed webhook, worker: the order turns PAID', async () => {
    const order = await newOrder(shop);
    const res = await checkout(shop, order.id);
    assert.equal(res.status, 201);
    const payment = res.body.payment;
    assert.equal(payment.status, 'PENDING');
    assert.equal(payment.orderId, order.id);
    assert.equal(payment.provider, 'stripe');
    assert.deepEqual(payment.amount, { amount: 2500, currency: 'usd' });
    assert.deepEqual(payment.refunded, { amount: 0, currency: 'usd' });
    assert.match(payment.checkoutUrl, new RegExp(`^${shop.sandbox.url}/checkout/cs_test_`));
    assert.equal(payment.succeededAt, null);

    const row = await paymentRow(shop, payment.id);
    const session = await shop.stripe.checkout.sessions.retrieve(row.gateway_session_id!);
    assert.equal(session.amount_total, 2500);
    assert.equal(session.client_reference_id, order.id);
    assert.deepEqual(session.metadata, { orderId: order.id, paymentId: payment.id });
    const lineItems = await shop.stripe.checkout.sessions.listLineItems(session.id);
    assert.deepEqual(
      lineItems.data.map((l) => [l.description, l.quantity, l.price?.unit_amount]),
      [[shop.product.name, 2, 1250]],
    );
    // The order expires in 30 minutes; Stripe's shortest session is 30 minutes: the session gets that (+ margin).
    const expiresIn = session.expires_at - Math.floor(shop.clock.now().getTime() / 1000);
    assert.ok(expiresIn >= 30 * 60 && expiresIn <= 32 * 60, `session expires in ${expiresIn} s`);

    const paid = (await pay(shop, session.id)) as { outcome: string; redirectUrl: string };
    assert.equal(paid.outcome, 'paid');
    assert.ok(paid.redirectUrl.startsWith(`${shop.app.config.PUBLIC_URL}/?order=${order.id}&checkout=success`));
    const before = await getOrder(shop, order.id);
    assert.equal(before.body.status, 'CREATED', 'a redirect proves nothing: only the signed event pays');

    await settle(shop);
    const after = await getOrder(shop, order.id);
    assert.equal(after.body.status, 'PAID');
    assert.ok(after.body.paidAt);
    assert.equal(after.body.payment.id, payment.id);
    assert.equal(after.body.payment.status, 'SUCCEEDED');
    assert.equal(after.body.payment.checkoutUrl, null);
    assert.ok(after.body.payment.succeededAt);

    const got = await call(shop.app, 'GET', `/api/v1/payments/${payment.id}`, { token: shop.customer.token });
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'SUCCEEDED');
    assert.equal(
      (await call(shop.app, 'GET', `/api/v1/payments/${payment.id}`, { token: shop.support.token })).status,
      200,
      'support reads every payment',
    );
    const stranger = await createUser(shop.app, 'customer');
    const hidden = await call(shop.app, 'GET', `/api/v1/payments/${payment.id}`, { token: stranger.token });
    assert.equal(hidden.status, 404, "another customer's payment does not exist for them");

    const events = await orderEvents(shop, order.id);
    assert.deepEqual(
      events.map((e) => [e.type, e.from_status, e.to_status, e.actor]),
      [
        ['order.created', null, 'CREATED', shop.customer.id],
        ['order.paid', 'CREATED', 'PAID', 'system:payments'],
      ],
    );
    assert.deepEqual(await outboxFor(shop, order.id), [
      { type: 'order.updated', status: 'CREATED' },
      { type: 'payment.updated', status: 'PENDING' },
      { type: 'payment.updated', status: 'SUCCEEDED' },
      { type: 'order.updated', status: 'PAID' },
    ]);
    const rows = await shop.app.database.db.selectFrom('outbox').selectAll().orderBy('id').execute();
    const paidMessage = rows.find(
      (r) => r.type === 'order.updated' && (r.payload as { status: string }).status === 'PAID',
    );
    assert.equal((paidMessage?.payload as { paymentStatus: string }).paymentStatus, 'SUCCEEDED');

    const metrics = await (await fetch(`${shop.app.baseUrl}/metrics`)).text();
    assert.match(metrics, /^fulcrum_payments\{status="SUCCEEDED"\} [1-9]/m);
    assert.match(metrics, /^fulcrum_webhook_inbox_rows\{status="processed"\} [1-9]/m);
    assert.match(metrics, /^fulcrum_webhook_lag_seconds 0$/m);
  });

  it('with the worker running, the webhook wakes it: no call to process the inbox by hand', async () => {
    shop.app.payments.inbox.start();
    try {
      const order = await newOrder(shop);
      const res = await checkout(shop, order.id);
      const row = await paymentRow(shop, res.body.payment.id);
      await pay(shop, row.gateway_session_id!);
      const status = await waitFor('the order to be paid', async () => {
        const o = await getOrder(shop, order.id);
        return o.body.status === 'PAID' ? o.body.status : undefined;
      });
      assert.equal(status, 'PAID');
    } finally {
      await shop.app.payments.inbox.stop();
    }
  });
});
