import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTokenService } from '../../src/modules/auth/index.ts';
import { call, createUser } from '../helpers.ts';
import { createProduct, markPaid, placeOrder } from '../shop.ts';
import {
  connectClient,
  emitWithAck,
  startRealtimeApp,
  waitUntil,
  type RealtimeTestApp,
  type Received,
  type TestClient,
} from './support.ts';

type User = Awaited<ReturnType<typeof createUser>>;

const statusesOf = (events: Received[]) => events.map((e) => `${String(e.data.eventId)}:${String(e.data.status)}`);

describe('realtime: order updates over Socket.IO', () => {
  let app: RealtimeTestApp;
  let admin: User;
  let productId: string;
  const clients: TestClient[] = [];
  const client = async (options: Parameters<typeof connectClient>[1]) => {
    const c = await connectClient(app.baseUrl, options);
    clients.push(c);
    return c;
  };
  const newOrder = async (user: User): Promise<string> => {
    const res = await placeOrder(app, user.token, { items: [{ productId, quantity: 1 }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const cancel = async (user: User, orderId: string) => {
    const res = await call(app, 'POST', `/api/v1/orders/${orderId}/cancel`, { token: user.token, body: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  before(async () => {
    app = await startRealtimeApp();
    admin = await createUser(app, 'admin');
    productId = (await createProduct(app, admin.token, { stock: 1000 })).id;
  });
  after(async () => {
    for (const c of clients) c.close();
    await app.close();
  });

  it('the owner sees the order created and then cancelled, over the socket, after the HTTP calls', async () => {
    const alice = await createUser(app);
    const socket = await client({ token: alice.token });
    const orderId = await newOrder(alice);
    await cancel(alice, orderId);
    await socket.waitFor((r) => r.some((e) => e.data.status === 'CANCELLED'), 'order.updated CANCELLED');
    const events = socket.events();
    assert.deepEqual(
      events.map((e) => e.name),
      ['order.updated', 'order.updated'],
    );
    assert.deepEqual(events[0]!.data, {
      eventId: 1,
      orderId,
      status: 'CREATED',
      paymentStatus: null,
      at: events[0]!.data.at,
    });
    assert.equal(events[1]!.data.eventId, 2);
    assert.equal(events[1]!.data.status, 'CANCELLED');
    assert.ok(!Number.isNaN(Date.parse(String(events[1]!.data.at))));
  });

  it('reconnecting with lastEventId yields every missed event exactly once, in order, then live ones', async () => {
    const bob = await createUser(app);
    const first = await client({ token: bob.token });
    const orderA = await newOrder(bob);
    await first.waitFor((r) => r.some((e) => e.data.eventId === 1), 'event 1');
    first.close();

    // While disconnected: paid, a second order placed and cancelled.
    await markPaid(app, orderA);
    const orderB = await newOrder(bob);
    await cancel(bob, orderB);

    const again = await client({ token: bob.token, lastEventId: 1 });
    const live = await newOrder(bob);
    await again.waitFor((r) => r.some((e) => e.data.orderId === live), 'the live event after the replay');
    assert.deepEqual(statusesOf(again.events()), ['2:PAID', '3:CREATED', '4:CANCELLED', '5:CREATED']);
    const ready = again.received.find((r) => r.name === 'session.ready');
    assert.deepEqual(ready?.data, { lastEventId: 4 });
    assert.equal(again.received.indexOf(ready), 3, 'session.ready comes after the replayed events');
  });

  it('replay from 0 sends the whole history once, even while new events are being made', async () => {
    const carol = await createUser(app);
    for (let i = 0; i < 3; i++) await newOrder(carol);
    const making = Promise.all([newOrder(carol), newOrder(carol), newOrder(carol)]);
    const socket = await client({ token: carol.token, lastEventId: 0 });
    await making;
    await socket.waitFor((r) => r.filter((e) => e.name === 'order.updated').length >= 6, 'six events');
    await app.relay.drain();
    await newOrder(carol);
    await socket.waitFor((r) => r.filter((e) => e.name === 'order.updated').length >= 7, 'the seventh event');
    assert.deepEqual(
      socket.events().map((e) => e.data.eventId),
      [1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('a stranger’s subscription gets not_found, and no data of another user ever reaches its socket', async () => {
    const owner = await createUser(app);
    const stranger = await createUser(app);
    const ownerSocket = await client({ token: owner.token });
    const strangerSocket = await client({ token: stranger.token, lastEventId: 0 });
    const orderId = await newOrder(owner);
    assert.deepEqual(await emitWithAck(strangerSocket.socket, 'order:subscribe', { orderId }), {
      ok: false,
      error: 'not_found',
    });
    assert.deepEqual(await emitWithAck(strangerSocket.socket, 'order:subscribe', { orderId: 'ord_nope' }), {
      ok: false,
      error: 'not_found',
    });
    await cancel(owner, orderId);
    await ownerSocket.waitFor((r) => r.some((e) => e.data.status === 'CANCELLED'), 'the owner’s CANCELLED');
    // The stranger's own event comes through the same relay after the owner's: once it is here, the owner's are past.
    const own = await newOrder(stranger);
    await strangerSocket.waitFor((r) => r.some((e) => e.data.orderId === own), 'the stranger’s own event');
    assert.deepEqual(
      strangerSocket.events().map((e) => e.data.orderId),
      [own],
    );
    assert.ok(!JSON.stringify(strangerSocket.received).includes(orderId), 'the owner’s order id never reached it');
  });

  it('order:subscribe acks ok for the owner and for staff, and staff then follow that order only', async () => {
    const dave = await createUser(app);
    const support = await createUser(app, 'support');
    const daveSocket = await client({ token: dave.token });
    const staffSocket = await client({ token: support.token });
    const followed = await newOrder(dave);
    const other = await newOrder(dave);
    // Staff follow from the subscription on: let both CREATED events go out first.
    await daveSocket.waitFor((r) => r.filter((e) => e.data.status === 'CREATED').length === 2, 'both CREATED');
    assert.deepEqual(await emitWithAck(daveSocket.socket, 'order:subscribe', { orderId: followed }), { ok: true });
    assert.deepEqual(await emitWithAck(staffSocket.socket, 'order:subscribe', { orderId: followed }), { ok: true });
    await cancel(dave, other);
    await cancel(dave, followed);
    await staffSocket.waitFor((r) => r.some((e) => e.data.status === 'CANCELLED'), 'the followed order’s update');
    await daveSocket.waitFor((r) => r.filter((e) => e.data.status === 'CANCELLED').length === 2, 'both cancels');
    assert.deepEqual(
      staffSocket.events().map((e) => [e.data.orderId, e.data.status]),
      [[followed, 'CANCELLED']],
    );
    // The owner is not sent its own order twice for having subscribed.
    assert.deepEqual(statusesOf(daveSocket.events()), ['1:CREATED', '2:CREATED', '3:CANCELLED', '4:CANCELLED']);
  });

  it('order:subscribe with a bad payload acks validation_failed, and a missing ack callback breaks nothing', async () => {
    const erin = await createUser(app);
    const socket = await client({ token: erin.token });
    for (const bad of [undefined, null, 'ord_x', {}, { orderId: 42 }, { orderId: '' }, { orderId: 'x', extra: 1 }]) {
      assert.deepEqual(await emitWithAck(socket.socket, 'order:subscribe', bad), {
        ok: false,
        error: 'validation_failed',
      });
    }
    socket.socket.emit('order:subscribe', { orderId: 'ord_x' });
    socket.socket.emit('order:subscribe');
    socket.socket.emit('order:unsubscribe', 7);
    const orderId = await newOrder(erin);
    assert.deepEqual(await emitWithAck(socket.socket, 'order:subscribe', { orderId }), { ok: true });
    assert.equal(socket.socket.connected, true);
  });

  it('a burst of order:subscribe beyond 20 a second is answered rate_limited, and the socket stays usable', async () => {
    const gina = await createUser(app);
    const socket = await client({ token: gina.token });
    const orderId = await newOrder(gina);
    const answers = (await Promise.all(
      Array.from({ length: 60 }, () => emitWithAck(socket.socket, 'order:subscribe', { orderId })),
    )) as { ok: boolean; error?: string }[];
    assert.ok(answers.filter((a) => a.ok).length >= 20, 'the first twenty are served');
    assert.ok(
      answers.some((a) => a.error === 'rate_limited'),
      'the rest of the burst is refused',
    );
    assert.ok(answers.every((a) => a.ok || a.error === 'rate_limited'));
    assert.equal(socket.socket.connected, true);
  });

  it('/metrics reports the outbox lag per sink and this node’s sockets', async () => {
    const hal = await createUser(app);
    await client({ token: hal.token });
    const res = await fetch(`${app.baseUrl}/metrics`);
    const text = await res.text();
    assert.match(text, /^fulcrum_outbox_lag_seconds\{sink="socket"\} [\d.e-]+$/m);
    assert.match(text, /^fulcrum_outbox_unpublished\{sink="socket"\} \d+$/m);
    const sockets = Number(/^fulcrum_socketio_connections (\d+)$/m.exec(text)?.[1]);
    assert.ok(sockets >= 1, `sockets: ${sockets}`);
  });

  it('a socket whose token expires has its connection closed by the server at expiry', async () => {
    const frank = await createUser(app);
    const secret = app.config.JWT_SECRET!;
    // Issued 15 min minus 2 s ago: expires in about 2 s.
    const early = createTokenService(secret, { now: () => new Date(Date.now() - 15 * 60_000 + 2_000) });
    const token = await early.issueAccessToken({ id: frank.id, role: 'customer' });
    const socket = await client({ token });
    let reason = '';
    socket.socket.on('disconnect', (r) => (reason = r));
    await waitUntil(() => reason !== '', 'the server to close the expired socket');
    // A closed transport (not a server disconnect): socket.io clients reconnect by themselves, with a fresh token.
    assert.equal(reason, 'transport close');
  });
});
