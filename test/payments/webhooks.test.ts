import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import {
  checkout,
  drainInbox,
  flushWebhooks,
  inboxRows,
  newOrder,
  outboxFor,
  pay,
  paymentRow,
  postEvent,
  setFaults,
  clearFaults,
  startShop,
  stripeEvent,
  type Shop,
} from './support.ts';

describe('payments: the webhook route, the inbox and its worker', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({ env: { WEBHOOK_MAX_ATTEMPTS: '3' } });
  });
  after(() => shop.close());

  const count = async () => (await inboxRows(shop)).length;

  it('refuses missing, wrong and stale signatures with 400 invalid_signature and stores nothing', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_1', object: 'customer' });
    const stored = await count();
    const payload = JSON.stringify(event);
    const now = Math.floor(shop.clock.now().getTime() / 1000);
    const sign = (secret: string, timestamp = now, body = payload) =>
      shop.stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
    const attempts: [string, string | undefined, string][] = [
      ['missing', undefined, payload],
      ['garbage', 'nonsense', payload],
      ['wrong secret', sign('whsec_wrong'), payload],
      ['stale', sign(shop.sandbox.webhookSecret, now - 301), payload],
      ['altered body', sign(shop.sandbox.webhookSecret), payload.replace('cus_1', 'cus_2')],
      ['re-serialised body', sign(shop.sandbox.webhookSecret), JSON.stringify(event, null, 2)],
    ];
    for (const [what, signature, body] of attempts) {
      const res = await call(shop.app, 'POST', '/api/v1/webhooks/stripe', {
        rawBody: body,
        headers: {
          'content-type': 'application/json',
          ...(signature === undefined ? {} : { 'stripe-signature': signature }),
        },
      });
      assert.equal(res.status, 400, what);
      assert.equal(res.body.code, 'invalid_signature', what);
    }
    assert.equal(await count(), stored, 'nothing stored');

    const ok = await postEvent(shop, event);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { received: true });
    const again = await postEvent(shop, event);
    assert.equal(again.status, 200, 'a duplicate is acknowledged');
    assert.equal(await count(), stored + 1, 'and stored once');
  });

  it('answers 5xx when the event cannot be stored, so the gateway retries; never 2xx without a row', async () => {
    await sql`create function refuse_inbox() returns trigger language plpgsql as $$
      begin raise exception 'inbox unavailable'; end $$`.execute(shop.app.database.db);
    await sql`create trigger refuse_inbox before insert on webhook_inbox
      for each row execute function refuse_inbox()`.execute(shop.app.database.db);
    const event = stripeEvent('customer.created', { id: 'cus_3', object: 'customer' });
    try {
      const res = await postEvent(shop, event);
      assert.ok(res.status >= 500, `status ${res.status}`);
    } finally {
      await sql`drop trigger refuse_inbox on webhook_inbox`.execute(shop.app.database.db);
      await sql`drop function refuse_inbox()`.execute(shop.app.database.db);
    }
    const rows = await inboxRows(shop);
    assert.ok(!rows.some((r) => r.event_id === event.id));
    assert.equal((await postEvent(shop, event)).status, 200, 'the retry is stored');
  });

  it('one event delivered 10 times at once: one transition, one outbox message of each kind', async () => {
    const order = await newOrder(shop);
    const payment = (await checkout(shop, order.id)).body.payment;
    const sessionId = (await paymentRow(shop, payment.id)).gateway_session_id!;
    await setFaults(shop, { duplicate: 9 });
    try {
      await pay(shop, sessionId);
      await flushWebhooks(shop);
    } finally {
      await clearFaults(shop);
    }
    const events = await shop.stripe.events.list({ type: 'checkout.session.completed', limit: 10 });
    const completed = events.data.find((e) => (e.data.object as { id: string }).id === sessionId)!;
    const answers = await Promise.all(Array.from({ length: 10 }, () => postEvent(shop, completed as never)));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: 10 }, () => 200),
    );
    const rows = (await inboxRows(shop)).filter((r) => r.event_id === completed.id);
    assert.equal(rows.length, 1, 'ten deliveries, one row');

    // Three workers at once.
    await Promise.all([0, 1, 2].map(() => shop.app.payments.inbox.processInboxOnce()));
    await drainInbox(shop);
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    const messages = await outboxFor(shop, order.id);
    assert.equal(messages.filter((m) => m.type === 'payment.updated' && m.status === 'SUCCEEDED').length, 1);
    assert.equal(messages.filter((m) => m.type === 'order.updated' && m.status === 'PAID').length, 1);
    const processed = (await inboxRows(shop)).find((r) => r.event_id === completed.id)!;
    assert.equal(processed.status, 'processed');
  });

  it('a worker that dies holding rows: they are processed once, by another, after the lease', async () => {
    const order = await newOrder(shop);
    const payment = (await checkout(shop, order.id)).body.payment;
    await pay(shop, (await paymentRow(shop, payment.id)).gateway_session_id!);
    await flushWebhooks(shop);
    const dying = await shop.app.payments.inbox.claim(100);
    assert.ok(dying.rows.length >= 1, 'the dying worker holds the events');
    assert.equal(await shop.app.payments.inbox.processInboxOnce(), 0, 'leased rows are not taken');
    assert.equal((await paymentRow(shop, payment.id)).status, 'PENDING');

    shop.clock.advance(61_000);
    assert.equal(await drainInbox(shop), dying.rows.length, 'taken over after the lease');
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    assert.equal(
      await shop.app.payments.inbox.processClaimed(dying.leaseId, dying.rows),
      0,
      'the late worker is fenced out',
    );
    const messages = await outboxFor(shop, order.id);
    assert.equal(messages.filter((m) => m.type === 'payment.updated' && m.status === 'SUCCEEDED').length, 1);
  });

  it('a failing event retries with backoff, dies after WEBHOOK_MAX_ATTEMPTS; admins list and retry it', async () => {
    const poison = stripeEvent('checkout.session.completed', {});
    (poison.data as { object: unknown }).object = null;
    assert.equal((await postEvent(shop, poison)).status, 200);
    const rowOf = async () => (await inboxRows(shop)).find((r) => r.event_id === poison.id)!;

    await drainInbox(shop);
    let row = await rowOf();
    assert.equal(row.status, 'failed');
    assert.equal(row.attempts, 1);
    assert.ok(row.last_error !== null);
    assert.ok(row.next_attempt_at > shop.clock.now(), 'retried later, not at once');
    assert.equal(await shop.app.payments.inbox.processInboxOnce(), 0);

    shop.clock.advance(1_100);
    await drainInbox(shop);
    row = await rowOf();
    assert.equal(row.attempts, 2);
    const secondDelay = row.next_attempt_at.getTime() - shop.clock.now().getTime();
    assert.ok(secondDelay > 1_000, 'the backoff grows');
    shop.clock.advance(2_100);
    await drainInbox(shop);
    row = await rowOf();
    assert.equal(row.status, 'dead');
    assert.equal(row.attempts, 3);
    shop.clock.advance(3_600_000 / 60);
    assert.equal(await shop.app.payments.inbox.processInboxOnce(), 0, 'a dead row stays dead');

    const list = (token: string, query = '?status=dead') =>
      call(shop.app, 'GET', `/api/v1/admin/webhook-events${query}`, { token });
    const fresh = async (role: 'admin' | 'support' | 'customer', id: string) =>
      shop.app.deps.tokens.issueAccessToken({ id, role });
    const adminToken = await fresh('admin', shop.admin.id);
    const supportToken = await fresh('support', shop.support.id);
    const customerToken = await fresh('customer', shop.customer.id);
    const dead = await list(supportToken);
    assert.equal(dead.status, 200);
    const listed = dead.body.data.find((e: { eventId: string }) => e.eventId === poison.id);
    assert.deepEqual(Object.keys(listed).sort(), [
      'attempts',
      'eventId',
      'id',
      'lastError',
      'outcome',
      'processedAt',
      'provider',
      'receivedAt',
      'status',
      'type',
    ]);
    assert.equal(listed.status, 'dead');
    assert.equal(listed.attempts, 3);
    assert.equal((await list(customerToken)).status, 403);
    const page = await list(adminToken, '?limit=1');
    assert.equal(page.body.data.length, 1);
    assert.ok(page.body.nextCursor);
    const next = await list(adminToken, `?limit=1&cursor=${page.body.nextCursor}`);
    assert.notEqual(next.body.data[0].id, page.body.data[0].id);

    const retry = (token: string, id: string) =>
      call(shop.app, 'POST', `/api/v1/admin/webhook-events/${id}/retry`, { token });
    assert.equal((await retry(supportToken, listed.id)).status, 403);
    const retried = await retry(adminToken, listed.id);
    assert.equal(retried.status, 202);
    assert.equal((await rowOf()).status, 'pending');
    assert.equal((await rowOf()).attempts, 0);
    assert.equal((await retry(adminToken, 'whk_nope')).status, 404);
    const processedRow = (await inboxRows(shop)).find((r) => r.status === 'processed')!;
    const notRetryable = await retry(adminToken, processedRow.id);
    assert.equal(notRetryable.status, 409);
    await drainInbox(shop);
    assert.equal((await rowOf()).attempts, 1, 'processed again with fresh attempts');
  });

  it('keeps and ignores events for unknown payments and event types it does not handle', async () => {
    const unknown = stripeEvent('checkout.session.completed', {
      id: 'cs_test_not_ours',
      object: 'checkout.session',
      status: 'complete',
      payment_status: 'paid',
      amount_total: 100,
      currency: 'usd',
      metadata: { paymentId: 'pay_not_ours' },
      payment_intent: 'pi_not_ours',
    });
    const other = stripeEvent('customer.updated', { id: 'cus_9', object: 'customer' });
    assert.equal((await postEvent(shop, unknown)).status, 200);
    assert.equal((await postEvent(shop, other)).status, 200);
    await drainInbox(shop);
    const rows = await inboxRows(shop);
    const a = rows.find((r) => r.event_id === unknown.id)!;
    const b = rows.find((r) => r.event_id === other.id)!;
    assert.equal(a.status, 'processed');
    assert.equal(a.outcome, 'ignored: unknown payment');
    assert.equal(b.status, 'processed');
    assert.match(b.outcome ?? '', /^ignored: customer.updated/);
  });
});
