import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOutboxRelay, type OutboxRelay } from '../../src/modules/realtime/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { newOrder, pay, startPayment, startShop, type Shop } from '../payments/support.ts';
import { connectClient, type TestClient } from './support.ts';

// How `npm start` gets a payment to the customer's socket without waiting for a poll: the webhook route
// wakes the inbox worker when it stores an event, and the commit that appends to the outbox wakes the relay
// (PGlite: its in-process NOTIFY; a server: LISTEN). Here every poll is an hour away, so the order can only
// turn PAID on the socket if each hop wakes the next. (test/realtime/all-in-one.test.ts runs the real process.)
const HOUR = 3_600_000;

describe('from the webhook to the socket with every poll an hour away', () => {
  let shop: Shop;
  let relay: OutboxRelay;
  let socket: TestClient | undefined;

  before(async () => {
    shop = await startShop({ payments: { worker: { pollMs: HOUR } } });
    shop.app.payments.start({ reconcileIntervalMs: HOUR });
    relay = startOutboxRelay({
      database: shop.app.database,
      logger: createLogger('silent'),
      clock: shop.clock,
      publishToSockets: (events) => shop.app.built.realtime.publish(events),
      pollMs: HOUR,
    });
    await relay.drain(); // the relay's first pass is over: from here on only a wake-up sends
  });
  after(async () => {
    socket?.close();
    await relay?.stop();
    await shop?.app.built.realtime.close();
    await shop?.close();
  });

  it('the sandbox pays; the webhook wakes the worker, its commit wakes the relay: PAID on the socket', async () => {
    socket = await connectClient(shop.app.baseUrl, { token: shop.customer.token });
    const order = await newOrder(shop);
    await socket.waitFor(
      (r) => r.some((e) => e.name === 'order.updated' && e.data.orderId === order.id),
      'order.updated CREATED (the relay woken by the order’s commit)',
    );
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId);
    await socket.waitFor(
      (r) => r.some((e) => e.name === 'order.updated' && e.data.orderId === order.id && e.data.status === 'PAID'),
      'order.updated PAID',
    );
    const seen = socket
      .events()
      .filter((e) => e.data.orderId === order.id)
      .map((e) => `${e.name} ${String(e.data.status)}`);
    assert.equal(seen[0], 'order.updated CREATED');
    assert.ok(seen.includes('payment.updated SUCCEEDED'), seen.join(', '));
    const inbox = await shop.app.database.db.selectFrom('webhook_inbox').select('status').execute();
    // Later events of the same payment may still be on their way; the one that made it PAID is applied.
    assert.ok(
      inbox.some((r) => r.status === 'processed'),
      'the money came through the webhook inbox',
    );
  });
});

// OUTBOX_RELAY_MIN_INTERVAL_MS (issue 11): commits that come faster than the interval are sent in one pass — on
// PGlite a pass per order cost the order's own requests two statements on the one connection.
describe('the relay with a minimum interval between passes', () => {
  const INTERVAL = 1_500;
  let shop: Shop;
  let relay: OutboxRelay;
  const passes: string[][] = [];

  before(async () => {
    shop = await startShop();
    relay = startOutboxRelay({
      database: shop.app.database,
      logger: createLogger('silent'),
      clock: shop.clock,
      publishToSockets: (events) => {
        if (events.length > 0) passes.push(events.map((e) => String(e.data.orderId)));
      },
      pollMs: HOUR,
      minIntervalMs: INTERVAL,
    });
    await relay.drain();
  });
  after(async () => {
    await relay?.stop();
    await shop?.close();
  });

  it('three orders committed one after another within the interval reach the sockets in one pass, none lost', async () => {
    await relay.drain(); // a pass has just begun and ended: the next waits for the interval
    passes.length = 0;
    const orders = [await newOrder(shop), await newOrder(shop), await newOrder(shop)];
    await new Promise((resolve) => setTimeout(resolve, INTERVAL + 500));
    assert.deepEqual(
      passes,
      [orders.map((o) => o.id)],
      'one pass with the three orders, in commit order (each commit wakes the relay)',
    );
  });
});
