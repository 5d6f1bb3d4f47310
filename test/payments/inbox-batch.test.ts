import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  drainInbox,
  flushWebhooks,
  inboxRows,
  newOrder,
  outboxFor,
  pay,
  paymentRow,
  postEvent,
  startPayment,
  startShop,
  stripeEvent,
  type Shop,
} from './support.ts';

/** Orders paid at the sandbox, their events stored and none applied yet. */
async function paidOrders(shop: Shop, n: number) {
  const paid = [];
  for (let i = 0; i < n; i += 1) {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId);
    paid.push({ order, payment });
  }
  await flushWebhooks(shop);
  return paid;
}

/** The rows "another-worker" holds are freed as when it died (its lease ran out) and the inbox is drained. */
async function afterAnotherWorkerDied(shop: Shop) {
  await shop.app.database.db
    .updateTable('webhook_inbox')
    .set({ locked_until: shop.clock.now() })
    .where('lease_id', '=', 'another-worker')
    .execute();
  await drainInbox(shop);
}

// Issue 11: the worker claims a batch in one statement and applies it in one transaction per lane (PGlite: one lane);
// events that change nothing are stored processed at intake. Every guarantee of one row per transaction still holds.
describe('webhook inbox: batches', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({ env: { WEBHOOK_MAX_ATTEMPTS: '3' } });
  });
  after(() => shop.close());

  it('an event Fulcrum does not act on is stored processed at intake: no worker ever claims it', async () => {
    const event = stripeEvent('payment_intent.created', { id: 'pi_new', object: 'payment_intent', metadata: {} });
    assert.equal((await postEvent(shop, event)).status, 200);
    const row = (await inboxRows(shop)).find((r) => r.event_id === event.id)!;
    assert.equal(row.status, 'processed');
    assert.match(row.outcome ?? '', /^ignored: payment_intent.created/);
    assert.equal(row.attempts, 0);
    assert.ok(row.processed_at !== null);
    assert.equal((await shop.app.payments.inbox.claim(100)).rows.length, 0);
    // A redelivery is still a duplicate of it.
    assert.equal((await postEvent(shop, event)).status, 200);
    assert.equal((await inboxRows(shop)).filter((r) => r.event_id === event.id).length, 1);
  });

  it('a failing event in a batch does not hold the others back: they are applied, it is retried alone', async () => {
    const paid = await paidOrders(shop, 2);
    const poison = stripeEvent('checkout.session.completed', {});
    (poison.data as { object: unknown }).object = null; // the handler throws on it
    assert.equal((await postEvent(shop, poison)).status, 200);
    const due = (await inboxRows(shop)).filter((r) => r.status === 'pending').length;
    assert.equal(await shop.app.payments.inbox.processInboxOnce(), due, 'one claim finishes the whole batch');
    for (const { payment } of paid) assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    const failed = (await inboxRows(shop)).find((r) => r.event_id === poison.id)!;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 1);
    assert.ok(failed.last_error !== null);
    for (const row of await inboxRows(shop)) {
      if (row.event_id !== poison.id) assert.equal(row.status, 'processed', `${row.type}: ${row.last_error}`);
    }
    // Parked, so that its retry (due in a second) is not part of the next test's batches.
    await shop.app.database.db
      .updateTable('webhook_inbox')
      .set({ status: 'dead' })
      .where('event_id', '=', poison.id as string)
      .execute();
  });

  it('a lease taken over mid-batch: that payment is left to its new holder, the rest of the batch is applied', async () => {
    const [kept, taken] = await paidOrders(shop, 2);
    const claimed = await shop.app.payments.inbox.claim(100);
    const db = shop.app.database.db;
    const ofTaken = claimed.rows.filter((r) => JSON.stringify(r.payload).includes(taken!.payment.id));
    assert.ok(ofTaken.length >= 1);
    // Another worker took these rows over (as after our lease ran out) and holds them.
    await db
      .updateTable('webhook_inbox')
      .set({ lease_id: 'another-worker' })
      .where(
        'id',
        'in',
        ofTaken.map((r) => r.id),
      )
      .execute();
    const finished = await shop.app.payments.inbox.processClaimed(claimed.leaseId, claimed.rows);
    assert.equal(finished, claimed.rows.length - ofTaken.length);
    assert.equal((await paymentRow(shop, kept!.payment.id)).status, 'SUCCEEDED');
    assert.equal((await paymentRow(shop, taken!.payment.id)).status, 'PENDING', 'nothing applied for the taken rows');
    for (const row of await inboxRows(shop)) {
      if (ofTaken.some((t) => t.id === row.id)) assert.equal(row.status, 'pending');
    }
    // Their holder "dies": after its lease they are processed once.
    await afterAnotherWorkerDied(shop);
    for (const row of await inboxRows(shop)) {
      if (ofTaken.some((t) => t.id === row.id)) assert.equal(row.status, 'processed', `${row.type}: ${row.last_error}`);
    }
    assert.equal((await paymentRow(shop, taken!.payment.id)).status, 'SUCCEEDED');
    const messages = await outboxFor(shop, taken!.order.id);
    assert.equal(messages.filter((m) => m.type === 'order.updated' && m.status === 'PAID').length, 1);
  });

  // A row claimed alone goes the handler's quick path (gateway-event.ts quickGatewayEvent): no transaction, the row
  // marked processed in the same statement as the payment and the order.
  it('claimed alone, a confirmation is applied without a transaction and its row marked by the same statement', async () => {
    const { order, payment } = (await paidOrders(shop, 1))[0]!;
    const claimed = await shop.app.payments.inbox.claim(1);
    assert.equal(claimed.rows.length, 1);
    assert.equal(await shop.app.payments.inbox.processClaimed(claimed.leaseId, claimed.rows), 1);
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    const row = (await inboxRows(shop)).find((r) => r.id === claimed.rows[0]!.id)!;
    assert.equal(row.status, 'processed');
    assert.equal(row.outcome, 'PENDING -> SUCCEEDED; order CREATED -> PAID');
    assert.equal(row.lease_id, null);
    const messages = await outboxFor(shop, order.id);
    assert.equal(messages.filter((m) => m.type === 'order.updated' && m.status === 'PAID').length, 1);
    await drainInbox(shop); // the other confirming event: a duplicate, marked alone
    assert.equal((await inboxRows(shop)).filter((r) => r.status !== 'processed' && r.status !== 'dead').length, 0);
  });

  it('claimed alone, a confirmation whose lease was taken over before its statement writes nothing at all', async () => {
    const { order, payment } = (await paidOrders(shop, 1))[0]!;
    const claimed = await shop.app.payments.inbox.claim(1);
    const db = shop.app.database.db;
    await db
      .updateTable('webhook_inbox')
      .set({ lease_id: 'another-worker' })
      .where('id', '=', claimed.rows[0]!.id)
      .execute();
    assert.equal(await shop.app.payments.inbox.processClaimed(claimed.leaseId, claimed.rows), 0);
    assert.equal((await paymentRow(shop, payment.id)).status, 'PENDING', 'the payment is not paid by a lost lease');
    assert.equal((await outboxFor(shop, order.id)).filter((m) => m.status === 'PAID').length, 0);
    const row = (await inboxRows(shop)).find((r) => r.id === claimed.rows[0]!.id)!;
    assert.equal(row.status, 'pending');
    assert.equal(row.lease_id, 'another-worker');
    // Its holder "dies": the row is applied once after its lease.
    await afterAnotherWorkerDied(shop);
    assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
    assert.equal(
      (await outboxFor(shop, order.id)).filter((m) => m.type === 'order.updated' && m.status === 'PAID').length,
      1,
    );
  });

  it('claimed alone, an event the quick path cannot read fails the usual way: recorded, retried later', async () => {
    const poison = stripeEvent('payment_intent.succeeded', {});
    (poison.data as { object: unknown }).object = null;
    assert.equal((await postEvent(shop, poison)).status, 200);
    const claimed = await shop.app.payments.inbox.claim(1);
    assert.equal(claimed.rows[0]!.event_id, poison.id);
    assert.equal(await shop.app.payments.inbox.processClaimed(claimed.leaseId, claimed.rows), 1);
    const failed = (await inboxRows(shop)).find((r) => r.event_id === poison.id)!;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 1);
    assert.ok(failed.last_error !== null);
    await shop.app.database.db
      .updateTable('webhook_inbox')
      .set({ status: 'dead' })
      .where('id', '=', failed.id)
      .execute();
  });
});
