import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOutboxRelay, type OutboxRelay } from '../../src/modules/realtime/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createUser } from '../helpers.ts';
import {
  ASYNC_DELAY_MS,
  newOrder,
  pay,
  settle,
  startPayment,
  startShop,
  waitForEvent,
  type Shop,
} from '../payments/support.ts';
import { connectClient, emitWithAck, type Received, type TestClient } from './support.ts';

/** What a socket was told about one order, as `type status`, in arrival order. */
const about = (client: TestClient, orderId: string) =>
  client
    .events()
    .filter((e) => e.data.orderId === orderId)
    .map((e) => `${e.name} ${String(e.data.status)}`);
const eventIds = (events: Received[]) => events.map((e) => Number(e.data.eventId));

describe('realtime: a payment seen live, from the sandbox’s webhook to the socket', () => {
  let shop: Shop;
  let relay: OutboxRelay;
  const clients: TestClient[] = [];
  const client = async (options: Parameters<typeof connectClient>[1]) => {
    const c = await connectClient(shop.app.baseUrl, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    shop = await startShop();
    relay = startOutboxRelay({
      database: shop.app.database,
      logger: createLogger('silent'),
      clock: shop.clock,
      publishToSockets: (events) => shop.app.built.realtime.publish(events),
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await relay.stop();
    await shop.app.built.realtime.close();
    await shop.close();
  });

  it('the owner sees processing → PAID over the socket after the sandbox webhook', async () => {
    const owner = await createUser(shop.app);
    const socket = await client({ token: owner.token });
    const order = await newOrder(shop, owner);
    const payment = await startPayment(shop, order.id, owner);
    await pay(shop, payment.sessionId, '4000000000003220'); // pays asynchronously: completed unpaid first
    await waitForEvent(shop, 'checkout.session.completed', payment.sessionId);
    await settle(shop);
    await socket.waitFor(
      (r) => r.filter((e) => e.name === 'payment.updated' && e.data.status === 'PENDING').length === 2,
      'payment.updated PENDING (processing)',
    );
    shop.clock.advance(ASYNC_DELAY_MS + 1_000);
    await waitForEvent(shop, 'checkout.session.async_payment_succeeded', payment.sessionId);
    await settle(shop);
    await socket.waitFor((r) => r.some((e) => e.data.status === 'PAID'), 'order.updated PAID');

    const seen = about(socket, order.id);
    assert.deepEqual(seen.slice(0, 3), ['order.updated CREATED', 'payment.updated PENDING', 'payment.updated PENDING']);
    assert.ok(seen.indexOf('order.updated PAID') > 2, `PAID after processing: ${seen.join(', ')}`);
    assert.ok(seen.includes('payment.updated SUCCEEDED'), seen.join(', '));
    const paid = socket.events().find((e) => e.data.status === 'PAID')!;
    assert.equal(paid.data.paymentStatus, 'SUCCEEDED');
    const ids = eventIds(socket.events());
    assert.deepEqual(
      ids,
      ids.map((_, i) => i + 1),
      'eventIds 1, 2, 3… without gap or repeat',
    );
    const processing = socket.events().find((e) => e.name === 'payment.updated')!;
    assert.deepEqual(Object.keys(processing.data).sort(), ['at', 'eventId', 'orderId', 'paymentId', 'status']);
    assert.equal(processing.data.paymentId, payment.id);
  });

  it('a declined card is told to the owner live: a payment.updated after the decline (the page reads why)', async () => {
    const owner = await createUser(shop.app);
    const socket = await client({ token: owner.token });
    const order = await newOrder(shop, owner);
    const payment = await startPayment(shop, order.id, owner);
    await socket.waitFor(
      (r) => r.some((e) => e.name === 'payment.updated' && e.data.paymentId === payment.id),
      'payment.updated PENDING (started)',
    );
    await pay(shop, payment.sessionId, '4000000000009995'); // declined: insufficient funds
    await settle(shop);
    await socket.waitFor(
      (r) => r.filter((e) => e.name === 'payment.updated' && e.data.paymentId === payment.id).length === 2,
      'payment.updated after the decline',
    );
    assert.deepEqual(about(socket, order.id), [
      'order.updated CREATED',
      'payment.updated PENDING',
      'payment.updated PENDING',
    ]);
  });

  it('disconnected during the payment, a customer reconnecting with lastEventId gets every event once', async () => {
    const owner = await createUser(shop.app);
    const first = await client({ token: owner.token });
    const order = await newOrder(shop, owner);
    const payment = await startPayment(shop, order.id, owner);
    await pay(shop, payment.sessionId, '4000000000003220'); // completed unpaid: processing, then async success
    await waitForEvent(shop, 'checkout.session.completed', payment.sessionId);
    await settle(shop);
    await first.waitFor(
      (r) => r.filter((e) => e.name === 'payment.updated' && e.data.status === 'PENDING').length === 2,
      'payment.updated PENDING (processing)',
    );
    // The payment is in progress (PENDING, processing) when the connection drops.
    const last = Number(first.events().at(-1)!.data.eventId);
    first.close();

    // While disconnected: the bank settles, and the customer places another order (committed, to be replayed).
    shop.clock.advance(ASYNC_DELAY_MS + 1_000);
    await waitForEvent(shop, 'checkout.session.async_payment_succeeded', payment.sessionId);
    const whileAway = await newOrder(shop, owner);
    // The webhook that makes the order PAID is applied while the client reconnects: live events cross the seam.
    const settling = settle(shop);
    const again = await client({ token: owner.token, lastEventId: last });
    await settling;
    // A final marker: an event committed after everything above.
    const marker = await newOrder(shop, owner);
    await again.waitFor((r) => r.some((e) => e.data.orderId === marker.id), 'the marker’s order.updated CREATED');

    const ids = eventIds(again.events());
    const markerId = Number(again.events().find((e) => e.data.orderId === marker.id)!.data.eventId);
    assert.deepEqual(
      ids,
      Array.from({ length: markerId - last }, (_, i) => last + 1 + i),
      'every event after lastEventId up to the marker, each once, in order',
    );
    const before = eventIds(first.events());
    assert.deepEqual(
      [...before, ...ids],
      Array.from({ length: markerId }, (_, i) => i + 1),
      'both connections together: 1 … marker, each exactly once',
    );
    assert.ok(about(again, order.id).includes('order.updated PAID'), about(again, order.id).join(', '));
    assert.ok(about(again, order.id).includes('payment.updated SUCCEEDED'), about(again, order.id).join(', '));
    assert.ok(!about(again, order.id).includes('order.updated CREATED'), 'nothing at or before lastEventId');
    assert.deepEqual(about(again, whileAway.id), ['order.updated CREATED']);
  });

  it('another customer hears nothing of the payment; support following the order hears it', async () => {
    const owner = await createUser(shop.app);
    const stranger = await createUser(shop.app);
    const strangerSocket = await client({ token: stranger.token });
    const supportSocket = await client({ token: shop.support.token });
    const order = await newOrder(shop, owner);
    assert.deepEqual(await emitWithAck(strangerSocket.socket, 'order:subscribe', { orderId: order.id }), {
      ok: false,
      error: 'not_found',
    });
    assert.deepEqual(await emitWithAck(supportSocket.socket, 'order:subscribe', { orderId: order.id }), { ok: true });
    const payment = await startPayment(shop, order.id, owner);
    await pay(shop, payment.sessionId);
    await waitForEvent(shop, 'checkout.session.completed', payment.sessionId);
    await settle(shop);
    await supportSocket.waitFor((r) => r.some((e) => e.data.status === 'PAID'), 'support sees PAID');
    const own = await newOrder(shop, stranger);
    await strangerSocket.waitFor((r) => r.some((e) => e.data.orderId === own.id), 'the stranger’s own event');
    assert.deepEqual(
      strangerSocket.events().map((e) => e.data.orderId),
      [own.id],
    );
  });
});
