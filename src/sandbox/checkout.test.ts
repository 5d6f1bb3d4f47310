import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { pay, sdkFor, sessionParams, startHarness, waitFor } from './test-helpers.ts';
import type { Harness } from './test-helpers.ts';

describe('checkout sessions through the official SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('a created session has Stripe’s shape and can be retrieved', async () => {
    const created = await h.stripe.checkout.sessions.create(sessionParams());
    assert.match(created.id, /^cs_test_[A-Za-z0-9]{58}$/);
    assert.equal(created.object, 'checkout.session');
    assert.equal(created.mode, 'payment');
    assert.equal(created.status, 'open');
    assert.equal(created.payment_status, 'unpaid');
    assert.equal(created.amount_subtotal, 3000);
    assert.equal(created.amount_total, 3000);
    assert.equal(created.currency, 'usd');
    assert.equal(created.payment_intent, null);
    assert.equal(created.client_reference_id, 'ord_1');
    assert.deepEqual(created.metadata, { order_id: 'ord_1' });
    assert.equal(created.url, `${h.sandbox.url}/checkout/${created.id}`);
    assert.equal(created.expires_at, created.created + 24 * 3600);
    assert.equal(created.livemode, false);
    assert.equal(created.success_url, 'http://shop.test/orders/ord_1?session_id={CHECKOUT_SESSION_ID}');
    assert.match(created.lastResponse.requestId, /^req_/);

    const got = await h.stripe.checkout.sessions.retrieve(created.id, { expand: ['line_items'] });
    assert.equal(got.id, created.id);
    assert.equal(got.line_items?.data.length, 2);
    assert.equal(got.line_items?.data[0]?.description, 'Tee shirt');
    assert.equal(got.line_items?.data[0]?.amount_total, 2500);
    assert.equal(got.line_items?.data[0]?.price?.unit_amount, 1250);

    const items = await h.stripe.checkout.sessions.listLineItems(created.id, { limit: 1 });
    assert.equal(items.data.length, 1);
    assert.equal(items.has_more, true);
  });

  test('expiring a session, then expiring it again', async () => {
    const created = await h.stripe.checkout.sessions.create(sessionParams());
    const expired = await h.stripe.checkout.sessions.expire(created.id);
    assert.equal(expired.status, 'expired');
    assert.equal(expired.url, null);
    assert.equal((await h.stripe.checkout.sessions.retrieve(created.id)).status, 'expired');

    await assert.rejects(h.stripe.checkout.sessions.expire(created.id), (err: unknown) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(err.statusCode, 400);
      assert.equal(
        err.message,
        'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of `expired`.',
      );
      return true;
    });

    const events = await h.stripe.events.list({ type: 'checkout.session.expired', limit: 100 });
    const event = events.data.find((e) => (e.data.object as Stripe.Checkout.Session).id === created.id);
    assert.ok(event);
    assert.equal(event.request?.id, expired.lastResponse.requestId);
  });

  test('a paid session cannot be expired', async () => {
    const created = await h.stripe.checkout.sessions.create(sessionParams());
    await pay(h, created.id);
    await assert.rejects(h.stripe.checkout.sessions.expire(created.id), /status of `complete`/);
  });

  test('a missing session is 404 resource_missing', async () => {
    await assert.rejects(h.stripe.checkout.sessions.retrieve('cs_test_nope'), (err: unknown) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(err.statusCode, 404);
      assert.equal(err.code, 'resource_missing');
      assert.equal(err.message, "No such checkout.session: 'cs_test_nope'");
      return true;
    });
    await assert.rejects(h.stripe.paymentIntents.retrieve('pi_nope'), { code: 'resource_missing', statusCode: 404 });
  });

  test('a key that is not sk_test_ is refused with 401', async () => {
    for (const key of ['sk_live_0123456789abcdef', 'rk_test_0123456789abcdef']) {
      await assert.rejects(sdkFor(h.sandbox.port, key).checkout.sessions.create(sessionParams()), (err: unknown) => {
        assert.ok(err instanceof Stripe.errors.StripeAuthenticationError);
        assert.equal(err.statusCode, 401);
        assert.equal(err.rawType, 'invalid_request_error');
        assert.match(err.message, /^Invalid API Key provided: /);
        assert.ok(!err.message.includes('0123456789ab'), 'the key is redacted');
        return true;
      });
    }
    const res = await fetch(`${h.sandbox.url}/v1/events`);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /did not provide an API key/);
  });

  test('invalid parameters are 400 invalid_request_error naming the param', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [Stripe.Checkout.SessionCreateParams, string, RegExp][] = [
      [{ ...sessionParams(), mode: undefined }, 'mode', /Missing required param: mode/],
      [sessionParams({ expires_at: now + 25 * 3600 }), 'expires_at', /must be less than 24 hours/],
      [sessionParams({ expires_at: now + 10 * 60 }), 'expires_at', /at least 30 minutes/],
      [sessionParams({ success_url: 'not a url' }), 'success_url', /Not a valid URL/],
      [sessionParams({ line_items: [] }), 'line_items', /at least one line item/],
      [
        sessionParams({
          line_items: [{ quantity: 0, price_data: { currency: 'usd', unit_amount: 1, product_data: { name: 'x' } } }],
        }),
        'line_items[0][quantity]',
        /greater than or equal to 1/,
      ],
      [
        sessionParams({
          line_items: [
            { quantity: 1, price_data: { currency: 'usd', unit_amount: 1, product_data: { name: 'x' } } },
            { quantity: 1, price_data: { currency: 'eur', unit_amount: 1, product_data: { name: 'y' } } },
          ],
        }),
        'line_items',
        /same currency/,
      ],
      [
        { ...sessionParams(), frobnicate: 'yes' } as Stripe.Checkout.SessionCreateParams,
        'frobnicate',
        /Received unknown parameter: frobnicate/,
      ],
    ];
    for (const [params, param, message] of cases) {
      await assert.rejects(h.stripe.checkout.sessions.create(params), (err: unknown) => {
        assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, `${param}: ${String(err)}`);
        assert.equal(err.statusCode, 400);
        assert.equal(err.rawType, 'invalid_request_error');
        assert.equal(err.param, param);
        assert.match(err.message, message);
        return true;
      });
    }
    const ok = await h.stripe.checkout.sessions.create(sessionParams({ expires_at: now + 30 * 60 + 5 }));
    assert.equal(ok.expires_at, now + 30 * 60 + 5);
  });

  test('line items take up to 100 entries, with more than 1000 form parameters in all', async () => {
    const metadata = { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' };
    const line_items = Array.from({ length: 100 }, (_, i) => ({
      quantity: 1,
      price_data: { currency: 'jpy', unit_amount: 100 + i, product_data: { name: `Item ${i}`, metadata } },
    }));
    const created = await h.stripe.checkout.sessions.create(sessionParams({ line_items }));
    assert.equal(created.amount_total, 100 * 100 + (99 * 100) / 2);
    assert.equal(created.currency, 'jpy');
    const last = await h.stripe.checkout.sessions.listLineItems(created.id, { limit: 100 });
    assert.equal(last.data[99]?.description, 'Item 99');
    await assert.rejects(
      h.stripe.checkout.sessions.create(sessionParams({ line_items: [...line_items, ...line_items.slice(0, 1)] })),
      { param: 'line_items', message: /up to 100 line items/ },
    );
  });

  test('the payment intent appears once paid, with its charge expandable', async () => {
    const created = await h.stripe.checkout.sessions.create(
      sessionParams({ payment_intent_data: { metadata: { payment_id: 'pay_1' } } }),
    );
    await pay(h, created.id);
    const session = await h.stripe.checkout.sessions.retrieve(created.id, { expand: ['payment_intent.latest_charge'] });
    assert.equal(session.status, 'complete');
    assert.equal(session.payment_status, 'paid');
    assert.equal(session.url, null);
    const intent = session.payment_intent as Stripe.PaymentIntent;
    assert.match(intent.id, /^pi_/);
    assert.equal(intent.status, 'succeeded');
    assert.equal(intent.amount, 3000);
    assert.equal(intent.amount_received, 3000);
    assert.deepEqual(intent.metadata, { payment_id: 'pay_1' });
    const charge = intent.latest_charge as Stripe.Charge;
    assert.match(charge.id, /^ch_/);
    assert.equal(charge.paid, true);
    const plain = await h.stripe.paymentIntents.retrieve(intent.id);
    assert.equal(plain.latest_charge, charge.id);
    await assert.rejects(h.stripe.paymentIntents.retrieve(intent.id, { expand: ['customer'] }), /cannot be expanded/);
  });
});

describe('sessions expire at expires_at by themselves', () => {
  let h: Harness;
  let offsetMs = 0;
  before(async () => {
    h = await startHarness({ now: () => Date.now() + offsetMs, sweepIntervalMs: 20 });
  });
  after(() => h.close());

  test('the timer expires the session and sends checkout.session.expired', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 31 * 60;
    const created = await h.stripe.checkout.sessions.create(sessionParams({ expires_at: expiresAt }));
    const untouched = await h.stripe.checkout.sessions.create(sessionParams());
    offsetMs = 32 * 60 * 1000;
    const delivery = await waitFor('checkout.session.expired', () =>
      h.receiver.received.find((d) => d.event.type === 'checkout.session.expired'),
    );
    assert.equal((delivery.event.data.object as Stripe.Checkout.Session).id, created.id);
    assert.equal((delivery.event.data.object as Stripe.Checkout.Session).status, 'expired');
    assert.equal(delivery.event.request?.id, null);
    assert.equal((await h.stripe.checkout.sessions.retrieve(created.id)).status, 'expired');
    assert.equal((await h.stripe.checkout.sessions.retrieve(untouched.id)).status, 'open');
    const paid = await pay(h, created.id);
    assert.equal(paid.status, 409);
  });
});
