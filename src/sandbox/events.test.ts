import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { pay, sessionParams, startHarness } from './test-helpers.ts';
import type { Harness } from './test-helpers.ts';

describe('GET /v1/events through the official SDK', () => {
  let h: Harness;
  /** Newest first, as the API lists them. */
  let expiredIds: string[];
  before(async () => {
    h = await startHarness({ webhookUrl: undefined });
    for (let i = 0; i < 5; i++) {
      const session = await h.stripe.checkout.sessions.create(sessionParams({ client_reference_id: `ord_${i}` }));
      await h.stripe.checkout.sessions.expire(session.id);
    }
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await pay(h, session.id);
    const list = await h.stripe.events.list({ type: 'checkout.session.expired', limit: 100 });
    expiredIds = list.data.map((e) => e.id);
  });
  after(() => h.close());

  test('auto-pagination with limit 2 yields every event once, newest first', async () => {
    const all = await h.stripe.events.list({ limit: 100 });
    assert.equal(all.object, 'list');
    assert.equal(all.url, '/v1/events');
    assert.equal(all.has_more, false);
    assert.equal(all.data.length, 9); // 5 expired + payment_intent.created, charge.succeeded, payment_intent.succeeded, completed
    const paged: string[] = [];
    for await (const event of h.stripe.events.list({ limit: 2 })) paged.push(event.id);
    assert.deepEqual(
      paged,
      all.data.map((e) => e.id),
    );
    const created = all.data.map((e) => e.created);
    assert.deepEqual(
      created,
      [...created].sort((a, b) => b - a),
    );
    assert.equal(all.data[0]?.type, 'checkout.session.completed');

    const first = await h.stripe.events.list({ limit: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.has_more, true);
    const defaulted = await h.stripe.events.list();
    assert.equal(defaulted.data.length, 9);
  });

  test('an event has Stripe’s shape', async () => {
    const [latest] = (await h.stripe.events.list({ limit: 1 })).data;
    assert.ok(latest);
    assert.match(latest.id, /^evt_/);
    assert.equal(latest.object, 'event');
    assert.equal(latest.api_version, '2026-10-28.endive');
    assert.equal(latest.livemode, false);
    assert.equal(latest.pending_webhooks, 0);
    assert.deepEqual(latest.request, { id: null, idempotency_key: null });
    assert.equal((latest.data.object as Stripe.Checkout.Session).object, 'checkout.session');
    const again = await h.stripe.events.retrieve(latest.id);
    assert.deepEqual(again.data, latest.data);
    await assert.rejects(h.stripe.events.retrieve('evt_missing'), {
      statusCode: 404,
      code: 'resource_missing',
      message: "No such event: 'evt_missing'",
    });
  });

  test('ending_before returns the events just newer than the cursor, newest first', async () => {
    const page = await h.stripe.events.list({
      type: 'checkout.session.expired',
      ending_before: expiredIds[3],
      limit: 2,
    });
    assert.deepEqual(
      page.data.map((e) => e.id),
      [expiredIds[1], expiredIds[2]],
    );
    assert.equal(page.has_more, true);
    const backwards: string[] = [];
    for await (const e of h.stripe.events.list({
      type: 'checkout.session.expired',
      ending_before: expiredIds[4],
      limit: 2,
    })) {
      backwards.push(e.id);
    }
    assert.deepEqual(backwards, [expiredIds[3], expiredIds[2], expiredIds[1], expiredIds[0]]);
  });

  test('type with a wildcard, and types[]', async () => {
    const checkout = await h.stripe.events.list({ type: 'checkout.session.*', limit: 100 });
    assert.equal(checkout.data.length, 6);
    assert.ok(checkout.data.every((e) => e.type.startsWith('checkout.session.')));
    const exact = await h.stripe.events.list({ type: 'checkout.session.completed' });
    assert.equal(exact.data.length, 1);
    const several = await h.stripe.events.list({ types: ['charge.succeeded', 'payment_intent.succeeded'] });
    assert.deepEqual(several.data.map((e) => e.type).sort(), ['charge.succeeded', 'payment_intent.succeeded']);
    const anyIntent = await h.stripe.events.list({ type: '*.succeeded' });
    assert.equal(anyIntent.data.length, 2);
    await assert.rejects(h.stripe.events.list({ type: 'charge.succeeded', types: ['charge.succeeded'] }), {
      statusCode: 400,
      param: 'type',
    });
  });

  test('created filters', async () => {
    const all = await h.stripe.events.list({ limit: 100 });
    const newest = all.data[0]?.created ?? 0;
    const oldest = all.data[all.data.length - 1]?.created ?? 0;
    assert.equal((await h.stripe.events.list({ created: { gt: newest }, limit: 100 })).data.length, 0);
    assert.equal((await h.stripe.events.list({ created: { gte: oldest }, limit: 100 })).data.length, 9);
    assert.equal((await h.stripe.events.list({ created: { lt: oldest }, limit: 100 })).data.length, 0);
    assert.equal((await h.stripe.events.list({ created: { lte: newest, gte: oldest }, limit: 100 })).data.length, 9);
    const exact = await h.stripe.events.list({ created: newest, limit: 100 });
    assert.ok(exact.data.length >= 1 && exact.data.every((e) => e.created === newest));
  });

  test('bad list parameters', async () => {
    await assert.rejects(h.stripe.events.list({ limit: 0 }), { param: 'limit', statusCode: 400 });
    await assert.rejects(h.stripe.events.list({ limit: 101 }), { param: 'limit', statusCode: 400 });
    await assert.rejects(h.stripe.events.list({ starting_after: 'evt_nope' }), {
      param: 'starting_after',
      code: 'resource_missing',
    });
    await assert.rejects(
      h.stripe.events.list({ starting_after: expiredIds[0], ending_before: expiredIds[1] }),
      Stripe.errors.StripeInvalidRequestError,
    );
    await assert.rejects(h.stripe.events.list({ created: { gt: 'soon' as unknown as number } }), {
      param: 'created[gt]',
    });
  });
});
