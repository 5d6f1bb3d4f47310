import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Providers } from '../../src/modules/payments/index.ts';
import {
  checkout,
  clearFaults,
  getOrder,
  newOrder,
  pay,
  paymentRow,
  paymentsOf,
  setFaults,
  settle,
  startShop,
  type Shop,
} from './support.ts';

// A checkout the gateway did not answer (502), with the default RECONCILE_AFTER_SECONDS (300 s): the stored
// session expiry (31 minutes from the payment) is only inside Stripe's 30-minute minimum for about a minute.
describe('payments: a checkout left without a session, with default settings', () => {
  let shop: Shop;
  /** Checkout calls per payment, and the sessions they returned. */
  const calls = new Map<string, number>();
  const sessions = new Map<string, Set<string>>();
  const spy = (providers: Providers): Providers => ({
    ...providers,
    stripe: {
      ...providers.stripe!,
      async createCheckout(request) {
        calls.set(request.paymentId, (calls.get(request.paymentId) ?? 0) + 1);
        const created = await providers.stripe!.createCheckout(request);
        const seen = sessions.get(request.paymentId) ?? new Set<string>();
        seen.add(created.sessionId ?? 'none');
        sessions.set(request.paymentId, seen);
        return created;
      },
    },
  });
  before(async () => {
    shop = await startShop({ payments: { wrapProviders: spy } });
    assert.equal(shop.app.config.RECONCILE_AFTER_SECONDS, 300);
    assert.equal(shop.app.config.RECONCILE_CHECKOUT_GRACE_SECONDS, 30);
  });
  after(() => shop.close());

  /** A checkout answered 502: its PENDING payment id. */
  async function failedCheckout(orderId: string): Promise<string> {
    await setFaults(shop, { apiErrorRate: 1 });
    try {
      const res = await checkout(shop, orderId);
      assert.equal(res.status, 502);
      assert.equal(res.body.code, 'gateway_unavailable');
      return res.body.payment.id as string;
    } finally {
      await clearFaults(shop);
    }
  }

  it('reconciliation opens its one session after the grace, not after RECONCILE_AFTER_SECONDS', async () => {
    const order = await newOrder(shop);
    const id = await failedCheckout(order.id);
    shop.clock.advance(10_000);
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, id)).gateway_session_id, null, 'within the grace: phase 2 may be running');
    shop.clock.advance(25_000);
    await shop.app.payments.reconcileOnce();
    const row = await paymentRow(shop, id);
    assert.equal(row.status, 'PENDING');
    assert.ok(row.gateway_session_id !== null && row.checkout_url !== null, 'reconciliation opened the checkout');
    assert.equal(sessions.get(id)?.size, 1);
    const view = await checkout(shop, order.id);
    assert.equal(view.status, 409);
    assert.equal(view.body.code, 'payment_already_pending');
    assert.equal(view.body.payment.checkoutUrl, row.checkout_url, 'the customer gets the URL to pay at');

    shop.clock.advance(301_000); // older than RECONCILE_AFTER_SECONDS: looked up, still open, left alone
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, id)).status, 'PENDING');
    await pay(shop, row.gateway_session_id);
    await settle(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    assert.equal(sessions.get(id)?.size, 1, 'one session for the payment, whoever asked');
  });

  it('checking out again resumes it; while the gateway still fails it is 502 again, with the same payment', async () => {
    const order = await newOrder(shop);
    const id = await failedCheckout(order.id);
    const second = await failedCheckout(order.id);
    assert.equal(second, id, 'resumed, not a second payment');
    assert.equal((await paymentsOf(shop, order.id)).length, 1);
    shop.clock.advance(20_000);
    const ok = await checkout(shop, order.id);
    assert.equal(ok.status, 201);
    assert.equal(ok.body.payment.id, id);
    const row = await paymentRow(shop, id);
    assert.ok(ok.body.payment.checkoutUrl !== null);
    assert.equal(ok.body.payment.checkoutUrl, row.checkout_url);
    assert.deepEqual([...sessions.get(id)!], [row.gateway_session_id]);
  });

  it('when the stored expiry is no longer accepted, checkout fails that payment and starts a new one', async () => {
    const order = await newOrder(shop);
    const id = await failedCheckout(order.id);
    shop.clock.advance(2 * 60_000); // the stored expires_at is now 29 minutes ahead: under Stripe's minimum
    const res = await checkout(shop, order.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const fresh = res.body.payment;
    assert.notEqual(fresh.id, id);
    assert.ok(fresh.checkoutUrl !== null);
    const old = await paymentRow(shop, id);
    assert.equal(old.status, 'FAILED');
    assert.equal(old.failure_reason, 'checkout could not be created');
    assert.equal(old.gateway_session_id, null);
    assert.equal(sessions.get(id), undefined, 'the refused key made no session');
    assert.equal(sessions.get(fresh.id as string)?.size, 1);
    const statuses = (await paymentsOf(shop, order.id)).map((p) => p.status).sort();
    assert.deepEqual(statuses, ['FAILED', 'PENDING']);
  });

  it('when the stored expiry is no longer accepted and the gateway then fails, the new payment is the 502', async () => {
    const order = await newOrder(shop);
    const id = await failedCheckout(order.id);
    shop.clock.advance(2 * 60_000);
    // The resumed call is refused; the new payment's own call fails (the spy lets one call through, then 500s).
    let first = true;
    const providers = shop.app.payments.deps.providers as Record<string, Providers[string]>;
    const stripe = providers.stripe!;
    const original = (request: Parameters<typeof stripe.createCheckout>[0]) => stripe.createCheckout(request);
    providers.stripe = {
      ...stripe,
      async createCheckout(request) {
        if (first) {
          first = false;
          return original(request);
        }
        await setFaults(shop, { apiErrorRate: 1 });
        try {
          return await original(request);
        } finally {
          await clearFaults(shop);
        }
      },
    };
    let res;
    try {
      res = await checkout(shop, order.id);
    } finally {
      providers.stripe = stripe;
    }
    assert.equal(res.status, 502);
    assert.notEqual(res.body.payment.id, id);
    assert.equal((await paymentRow(shop, id)).status, 'FAILED');
    assert.equal((await paymentRow(shop, res.body.payment.id as string)).status, 'PENDING');
  });

  it('reconciliation fails a payment whose stored expiry the gateway refuses; the next checkout is a new payment', async () => {
    const order = await newOrder(shop);
    const id = await failedCheckout(order.id);
    await setFaults(shop, { apiErrorRate: 1 });
    try {
      shop.clock.advance(31_000);
      await shop.app.payments.reconcileOnce(); // the gateway is still down: left PENDING
    } finally {
      await clearFaults(shop);
    }
    assert.equal((await paymentRow(shop, id)).status, 'PENDING');
    shop.clock.advance(90_000);
    await shop.app.payments.reconcileOnce();
    const old = await paymentRow(shop, id);
    assert.equal(old.status, 'FAILED');
    assert.equal(old.failure_reason, 'checkout could not be created');
    const res = await checkout(shop, order.id);
    assert.equal(res.status, 201);
    assert.notEqual(res.body.payment.id, id);
  });

  it('a manual payment has no session to wait for: a second checkout is 409, reconciliation leaves it', async () => {
    const order = await newOrder(shop);
    const first = await checkout(shop, order.id, shop.customer, { provider: 'manual' });
    assert.equal(first.status, 201);
    const second = await checkout(shop, order.id, shop.customer, { provider: 'manual' });
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'payment_already_pending');
    const stripe = await checkout(shop, order.id);
    assert.equal(stripe.status, 409, 'another provider does not resume it either');
    shop.clock.advance(31_000);
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, first.body.payment.id as string)).status, 'PENDING');
    assert.equal(calls.get(first.body.payment.id as string), undefined);
  });
});
