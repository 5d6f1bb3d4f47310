import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { pay, sessionParams, startHarness, waitFor } from './test-helpers.ts';
import type { Harness } from './test-helpers.ts';

describe('refunds through the official SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  async function paidIntent(
    params = sessionParams(),
    card = '4242424242424242',
    on: Harness = h,
  ): Promise<Stripe.PaymentIntent> {
    const session = await on.stripe.checkout.sessions.create(params);
    const paid = await pay(on, session.id, card);
    assert.equal(paid.status, 200);
    const id = (await on.stripe.checkout.sessions.retrieve(session.id)).payment_intent as string;
    return on.stripe.paymentIntents.retrieve(id);
  }

  test('a partial refund, then the rest by default', async () => {
    const intent = await paidIntent();
    const partial = await h.stripe.refunds.create({
      payment_intent: intent.id,
      amount: 1000,
      reason: 'requested_by_customer',
      metadata: { refund_id: 'ref_1' },
    });
    assert.match(partial.id, /^re_/);
    assert.equal(partial.object, 'refund');
    assert.equal(partial.amount, 1000);
    assert.equal(partial.status, 'succeeded');
    assert.equal(partial.currency, 'usd');
    assert.equal(partial.payment_intent, intent.id);
    assert.equal(partial.charge, intent.latest_charge);
    assert.equal(partial.reason, 'requested_by_customer');
    assert.deepEqual(partial.metadata, { refund_id: 'ref_1' });

    const rest = await h.stripe.refunds.create({ payment_intent: intent.id });
    assert.equal(rest.amount, 2000);
    const got = await h.stripe.refunds.retrieve(rest.id, { expand: ['charge'] });
    assert.equal(got.status, 'succeeded');
    const charge = got.charge as Stripe.Charge;
    assert.equal(charge.amount_refunded, 3000);
    assert.equal(charge.refunded, true);

    const refunded = await waitFor('two charge.refunded', () => {
      const found = h.receiver.received
        .map((d) => d.event)
        .filter((e) => e.type === 'charge.refunded' && e.data.object.id === charge.id);
      return found.length === 2 ? found : undefined;
    });
    const amounts = refunded.map((e) => (e.data.object as Stripe.Charge).amount_refunded).sort((a, b) => a - b);
    assert.deepEqual(amounts, [1000, 3000]);
    assert.deepEqual(
      refunded.map((e) => (e.data.previous_attributes as Partial<Stripe.Charge>).amount_refunded).sort(),
      [0, 1000],
    );
    const updated = await waitFor('refund.updated for the second refund', () =>
      h.receiver.received.find((d) => d.event.type === 'refund.updated' && d.event.data.object.id === rest.id),
    );
    assert.equal((updated.event.data.object as Stripe.Refund).status, 'succeeded');
  });

  test('refunding more than remains names the amounts as Stripe does', async () => {
    const intent = await paidIntent();
    await h.stripe.refunds.create({ payment_intent: intent.id, amount: 1000 });
    await assert.rejects(h.stripe.refunds.create({ payment_intent: intent.id, amount: 2500 }), (err: unknown) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(err.statusCode, 400);
      assert.equal(err.param, 'amount');
      assert.equal(err.message, 'Refund amount ($25.00) is greater than unrefunded amount on charge ($20.00)');
      return true;
    });
  });

  test('amounts in a zero-decimal currency are formatted without decimals', async () => {
    const intent = await paidIntent(
      sessionParams({
        line_items: [
          { quantity: 1, price_data: { currency: 'jpy', unit_amount: 1500, product_data: { name: 'Tea' } } },
        ],
      }),
    );
    await assert.rejects(h.stripe.refunds.create({ payment_intent: intent.id, amount: 2000 }), {
      message: 'Refund amount (¥2,000) is greater than unrefunded amount on charge (¥1,500)',
    });
  });

  test('a fully refunded charge answers charge_already_refunded', async () => {
    const intent = await paidIntent();
    await h.stripe.refunds.create({ payment_intent: intent.id });
    await assert.rejects(h.stripe.refunds.create({ payment_intent: intent.id, amount: 1 }), (err: unknown) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(err.code, 'charge_already_refunded');
      return true;
    });
  });

  test('a refund by charge id', async () => {
    const intent = await paidIntent();
    const refund = await h.stripe.refunds.create({ charge: intent.latest_charge as string, amount: 1 });
    assert.equal(refund.payment_intent, intent.id);
  });

  test('what cannot be refunded', async () => {
    await assert.rejects(h.stripe.refunds.create({}), { param: 'payment_intent', statusCode: 400 });
    await assert.rejects(h.stripe.refunds.create({ payment_intent: 'pi_missing' }), {
      code: 'resource_missing',
      message: "No such payment_intent: 'pi_missing'",
      statusCode: 400,
    });
    await assert.rejects(h.stripe.refunds.create({ payment_intent: (await paidIntent()).id, amount: 0 }), {
      param: 'amount',
    });
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await pay(h, session.id, '4000000000000002');
    const declined = (await h.stripe.checkout.sessions.retrieve(session.id)).payment_intent as string;
    await assert.rejects(h.stripe.refunds.create({ payment_intent: declined }), /does not have a successful charge/);
    await assert.rejects(h.stripe.refunds.retrieve('re_missing'), { statusCode: 404, code: 'resource_missing' });
  });

  test('a card whose refunds fail: pending, then refund.failed and the amount is refundable again', async () => {
    const intent = await paidIntent(sessionParams(), '4000000000005126');
    const refund = await h.stripe.refunds.create({ payment_intent: intent.id });
    assert.equal(refund.status, 'pending');
    const failed = await waitFor('refund.failed', () =>
      h.receiver.received.find((d) => d.event.type === 'refund.failed' && d.event.data.object.id === refund.id),
    );
    assert.equal((failed.event.data.object as Stripe.Refund).status, 'failed');
    assert.equal((await h.stripe.refunds.retrieve(refund.id)).status, 'failed');
    const again = await h.stripe.refunds.create({ payment_intent: intent.id, amount: 100 });
    assert.equal(again.amount, 100);
  });

  test('4000 0000 0000 5134: a refund reported succeeded fails later, and the charge is whole again', async () => {
    // Its own sandbox, whose refunds fail 1.5 s after they succeeded: time enough, on a busy machine, to see the
    // refund succeeded before it fails (the shared one fails them after 30 ms).
    const slow = await startHarness({ asyncPaymentDelayMs: 1500 });
    try {
      const intent = await paidIntent(sessionParams(), '4000000000005134', slow);
      const refund = await slow.stripe.refunds.create({ payment_intent: intent.id, amount: 1200 });
      assert.equal(refund.status, 'succeeded');
      assert.ok(refund.balance_transaction, 'accepted like any refund');
      const charge = () => slow.stripe.refunds.retrieve(refund.id, { expand: ['charge'] });
      assert.equal(((await charge()).charge as Stripe.Charge).amount_refunded, 1200);
      const failed = await waitFor('refund.failed', () =>
        slow.receiver.received.find((d) => d.event.type === 'refund.failed' && d.event.data.object.id === refund.id),
      );
      assert.equal((failed.event.data.object as Stripe.Refund).status, 'failed');
      assert.equal((failed.event.data.object as Stripe.Refund).failure_reason, 'expired_or_canceled_card');
      const types = slow.receiver.received
        .filter((d) => (d.event.data.object as { id?: string }).id === refund.id)
        .map((d) => d.event.type);
      assert.deepEqual(types, [
        'refund.created',
        'refund.updated',
        'charge.refund.updated',
        'refund.updated',
        'refund.failed',
      ]);
      const changed = slow.receiver.received.find(
        (d) => d.event.type === 'charge.refund.updated' && d.event.data.object.id === refund.id,
      )!;
      assert.deepEqual(changed.event.data.previous_attributes, { status: 'succeeded', failure_reason: null });
      const after = await charge();
      assert.equal(after.status, 'failed');
      assert.equal((after.charge as Stripe.Charge).amount_refunded, 0);
      assert.equal((after.charge as Stripe.Charge).refunded, false);
      const again = await slow.stripe.refunds.create({ payment_intent: intent.id });
      assert.equal(again.amount, 3000, 'the failed amount can be refunded again');
    } finally {
      await slow.close();
    }
  });
});
