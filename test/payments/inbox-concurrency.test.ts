import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  clearFaults,
  drainInbox,
  flushWebhooks,
  inboxRows,
  newOrder,
  orderEvents,
  outboxFor,
  pay,
  setFaults,
  startPayment,
  startShop,
  type Shop,
} from './support.ts';

// The worker as `npm start` runs it on PostgreSQL: a batch split into lanes in flight at once, each lane's rows in one
// transaction (one payment's events in one lane). Events of one order (the intent's and the session's) meet on its row
// lock.
describe('webhook inbox: a worker processing rows concurrently', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({ payments: { worker: { concurrency: 4, batchSize: 50 } } });
  });
  after(() => shop.close());

  it('applies every event once: each order PAID by one transition, one PAID outbox message', async () => {
    const orders = [];
    for (let i = 0; i < 6; i += 1) {
      const order = await newOrder(shop);
      orders.push({ order, payment: await startPayment(shop, order.id) });
    }
    await setFaults(shop, { duplicate: 3 }); // every event delivered 4 times
    try {
      for (const { payment } of orders) await pay(shop, payment.sessionId);
      await flushWebhooks(shop);
    } finally {
      await clearFaults(shop);
    }
    const stored = await inboxRows(shop);
    assert.ok(stored.length >= 6 * 4, `events stored once each: ${stored.length}`);
    // payment_intent.created and charge.succeeded change nothing: stored processed at intake, never claimed.
    const due = stored.filter((r) => r.status === 'pending');
    assert.equal(due.length, 6 * 2, "the intent's and the session's confirmations wait for the worker");
    assert.equal(await drainInbox(shop), due.length, 'every row finished once');
    for (const row of await inboxRows(shop)) assert.equal(row.status, 'processed', `${row.type}: ${row.last_error}`);

    for (const { order } of orders) {
      const paid = (await orderEvents(shop, order.id)).filter((e) => e.to_status === 'PAID');
      assert.equal(paid.length, 1, `one PAID transition for ${order.id}`);
      const messages = (await outboxFor(shop, order.id)).filter(
        (m) => m.type === 'order.updated' && m.status === 'PAID',
      );
      assert.equal(messages.length, 1, `one order.updated PAID for ${order.id}`);
    }
  });
});
