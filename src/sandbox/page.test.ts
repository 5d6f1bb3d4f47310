import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type Stripe from 'stripe';
import { pay, sessionParams, startHarness, waitFor } from './test-helpers.ts';
import type { Harness } from './test-helpers.ts';

function lineItem(currency: string, unitAmount: number, name = 'Item', quantity = 1) {
  return { quantity, price_data: { currency, unit_amount: unitAmount, product_data: { name } } };
}

/** Submits the hosted page's form as a browser would (form-encoded, no redirect following). */
function submitCard(url: string, card: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card }).toString(),
    redirect: 'manual',
  });
}

function eventsFor(h: Harness, sessionId: string, intentId?: string): string[] {
  return h.receiver.received
    .filter((d) => {
      const object = d.event.data.object as { id?: string };
      return object.id === sessionId || (intentId !== undefined && object.id === intentId);
    })
    .map((d) => d.event.type);
}

describe('the hosted checkout page', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('shows the line items, the total in the currency’s format, a card field and Pay, all escaped', async () => {
    const session = await h.stripe.checkout.sessions.create(
      sessionParams({
        line_items: [lineItem('usd', 1250, '<script>alert("x")</script> & Tee', 2), lineItem('usd', 5, 'Sticker')],
        cancel_url: 'http://shop.test/cart?a=1&b="2"',
      }),
    );
    const res = await fetch(session.url ?? '');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.ok(!html.includes('<script>'), 'no raw markup from the merchant');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Tee'));
    assert.ok(html.includes('2 × $12.50'));
    assert.match(html, /id="total">\$25\.05</);
    assert.match(html, /<input[^>]*name="card"/);
    assert.match(html, /<button type="submit">Pay \$25\.05<\/button>/);
    assert.ok(html.includes('href="http://shop.test/cart?a=1&amp;b=&quot;2&quot;"'));
  });

  test('formats zero- and three-decimal currencies by their exponent', async () => {
    const cases: [string, number, RegExp][] = [
      ['jpy', 1500, /id="total">¥1,500</],
      ['kwd', 1234, /id="total">KWD[\s\u00a0]1\.234</],
      ['eur', 99, /id="total">€0\.99</],
    ];
    for (const [currency, amount, expected] of cases) {
      const session = await h.stripe.checkout.sessions.create(
        sessionParams({ line_items: [lineItem(currency, amount)] }),
      );
      assert.match(await (await fetch(session.url ?? '')).text(), expected, currency);
    }
  });

  test('4242 4242 4242 4242 pays and redirects to success_url with the session id filled in', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    const res = await submitCard(session.url ?? '', '4242 4242 4242 4242');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `http://shop.test/orders/ord_1?session_id=${session.id}`);
    const paid = await h.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(paid.status, 'complete');
    assert.equal(paid.payment_status, 'paid');
    const intent = await h.stripe.paymentIntents.retrieve(paid.payment_intent as string);
    assert.equal(intent.status, 'succeeded');
    await waitFor('completed and succeeded', () => {
      const types = eventsFor(h, session.id, intent.id);
      return types.includes('checkout.session.completed') && types.includes('payment_intent.succeeded')
        ? true
        : undefined;
    });
    const page = await (await fetch(`${h.sandbox.url}/checkout/${session.id}`)).text();
    assert.match(page, /This checkout session is complete/);
    const again = await submitCard(`${h.sandbox.url}/checkout/${session.id}`, '4242424242424242');
    assert.equal(again.status, 409);
  });

  test('4000 0000 0000 0002 is declined: payment_intent.payment_failed, the session stays open', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    const res = await submitCard(session.url ?? '', '4000 0000 0000 0002');
    assert.equal(res.status, 402);
    assert.match(await res.text(), /Your card was declined\./);
    const open = await h.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(open.status, 'open');
    assert.equal(open.payment_status, 'unpaid');
    const intent = await h.stripe.paymentIntents.retrieve(open.payment_intent as string);
    assert.equal(intent.status, 'requires_payment_method');
    assert.equal(intent.last_payment_error?.code, 'card_declined');
    assert.equal(intent.last_payment_error?.decline_code, 'generic_decline');
    await waitFor('payment_failed', () =>
      eventsFor(h, session.id, intent.id).includes('payment_intent.payment_failed') ? true : undefined,
    );
    // The customer may try again with another card, on the same payment intent.
    assert.equal((await submitCard(session.url ?? '', '4242424242424242')).status, 303);
    const paid = await h.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(paid.payment_intent, intent.id);
    assert.equal((await h.stripe.paymentIntents.retrieve(intent.id)).status, 'succeeded');
  });

  test('4000 0000 0000 3220 pays asynchronously: completed unpaid, then async_payment_succeeded', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    const res = await submitCard(session.url ?? '', '4000 0000 0000 3220');
    assert.equal(res.status, 303);
    const completed = await waitFor('completed', () =>
      h.receiver.received.find(
        (d) => d.event.type === 'checkout.session.completed' && d.event.data.object.id === session.id,
      ),
    );
    assert.equal((completed.event.data.object as Stripe.Checkout.Session).payment_status, 'unpaid');
    const later = await waitFor('async_payment_succeeded', () =>
      h.receiver.received.find(
        (d) => d.event.type === 'checkout.session.async_payment_succeeded' && d.event.data.object.id === session.id,
      ),
    );
    assert.equal((later.event.data.object as Stripe.Checkout.Session).payment_status, 'paid');
    const paid = await h.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(paid.payment_status, 'paid');
    assert.equal((await h.stripe.paymentIntents.retrieve(paid.payment_intent as string)).status, 'succeeded');
  });

  test('4000 0000 0000 3238 fails asynchronously: async_payment_failed', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    const result = await pay(h, session.id, '4000000000003238');
    assert.equal(result.status, 200);
    assert.equal((result.json as { outcome: string }).outcome, 'processing');
    await waitFor('async_payment_failed', () =>
      eventsFor(h, session.id).includes('checkout.session.async_payment_failed') ? true : undefined,
    );
    const after = await h.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(after.status, 'complete');
    assert.equal(after.payment_status, 'unpaid');
    assert.equal(
      (await h.stripe.paymentIntents.retrieve(after.payment_intent as string)).status,
      'requires_payment_method',
    );
  });

  test('an invalid number is refused on the page without charging', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    const res = await submitCard(session.url ?? '', '1234 5678 9012 3456');
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Your card number is incorrect\./);
    assert.equal((await h.stripe.checkout.sessions.retrieve(session.id)).payment_intent, null);
  });

  test('an expired session says so; an unknown one is 404', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await h.stripe.checkout.sessions.expire(session.id);
    const page = await fetch(`${h.sandbox.url}/checkout/${session.id}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /This checkout session has expired/);
    assert.equal((await submitCard(`${h.sandbox.url}/checkout/${session.id}`, '4242424242424242')).status, 409);
    assert.equal((await fetch(`${h.sandbox.url}/checkout/cs_test_unknown`)).status, 404);
  });

  test('the pay control answers JSON with the outcome', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams({ success_url: undefined }));
    const declined = await pay(h, session.id, '4000000000000002');
    assert.equal(declined.status, 402);
    assert.equal((declined.json as { outcome: string }).outcome, 'declined');
    const paid = await h.control('POST', `/_sandbox/checkout/sessions/${session.id}/pay`);
    assert.equal(paid.status, 200);
    const body = paid.json as { outcome: string; redirectUrl: string | null; session: { status: string } };
    assert.equal(body.outcome, 'paid');
    assert.equal(body.redirectUrl, null);
    assert.equal(body.session.status, 'complete');
    assert.equal((await pay(h, 'cs_test_unknown')).status, 404);
  });
});
