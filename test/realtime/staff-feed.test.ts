import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser } from '../helpers.ts';
import { createProduct, markPaid, placeOrder } from '../shop.ts';
import {
  connectClient,
  connectError,
  emitWithAck,
  startRealtimeApp,
  type RealtimeTestApp,
  type Received,
  type TestClient,
} from './support.ts';

type User = Awaited<ReturnType<typeof createUser>>;

// Issue 13 point 1: the admin dashboard's live feed — every order's updates, for staff, with replay.
describe('realtime: the staff feed (/staff)', () => {
  let app: RealtimeTestApp;
  let admin: User;
  let productId: string;
  const clients: TestClient[] = [];
  const staff = async (options: Parameters<typeof connectClient>[1]) => {
    const c = await connectClient(`${app.baseUrl}/staff`, options);
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
  const ids = (events: Received[]) => events.map((e) => Number(e.data.eventId));
  const about = (events: Received[], orderId: string) =>
    events.filter((e) => e.data.orderId === orderId).map((e) => `${e.name}:${String(e.data.status)}`);

  before(async () => {
    app = await startRealtimeApp();
    admin = await createUser(app, 'admin');
    productId = (await createProduct(app, admin.token, { stock: 1000 })).id;
  });
  after(async () => {
    for (const c of clients) c.close();
    await app.close();
  });

  it('staff see every customer’s new orders and changes live, numbered in the feed’s own gap-free sequence', async () => {
    const feed = await staff({ token: admin.token });
    const start = Number(feed.received.find((r) => r.name === 'session.ready')!.data.lastEventId);
    const [alice, bob] = [await createUser(app), await createUser(app)];
    const a = await newOrder(alice);
    const b = await newOrder(bob);
    await markPaid(app, b);
    await cancel(alice, a);
    await feed.waitFor((r) => about(r, a).includes('order.updated:CANCELLED'), 'alice’s cancel');
    await feed.waitFor((r) => about(r, b).includes('order.updated:PAID'), 'bob’s payment');
    assert.deepEqual(about(feed.events(), a), ['order.updated:CREATED', 'order.updated:CANCELLED']);
    assert.deepEqual(about(feed.events(), b), ['order.updated:CREATED', 'order.updated:PAID']);
    const seen = ids(feed.events());
    assert.deepEqual(
      seen,
      seen.map((_, i) => start + i + 1),
      'one sequence, no holes, no repeats',
    );
  });

  it('reconnecting with lastEventId replays exactly what was missed, in order, then goes on live', async () => {
    const first = await staff({ token: admin.token });
    const alice = await createUser(app);
    const a = await newOrder(alice);
    await first.waitFor((r) => about(r, a).length === 1, 'the new order');
    const last = Math.max(...ids(first.events()));
    first.close();
    const b = await newOrder(alice);
    await cancel(alice, a);
    await markPaid(app, b);
    await app.relay.drain();
    const second = await staff({ token: admin.token, lastEventId: last });
    const replayed = second.events();
    assert.deepEqual(about(replayed, a), ['order.updated:CANCELLED']);
    assert.deepEqual(about(replayed, b), ['order.updated:CREATED', 'order.updated:PAID']);
    assert.deepEqual(
      ids(replayed),
      ids(replayed).map((_, i) => last + i + 1),
    );
    await cancel(alice, await newOrder(alice));
    await second.waitFor((r) => r.filter((e) => e.data.status === 'CANCELLED').length === 2, 'live after replay');
  });

  it('customers are refused (forbidden); support may listen; a bad lastEventId is validation_failed', async () => {
    const customer = await createUser(app);
    const refused = await connectError(`${app.baseUrl}/staff`, { token: customer.token });
    assert.equal(refused.message, 'forbidden');
    assert.equal((await connectError(`${app.baseUrl}/staff`, {})).message, 'unauthorized');
    const bad = await connectError(`${app.baseUrl}/staff`, { token: admin.token, lastEventId: -1 });
    assert.equal(bad.message, 'validation_failed');
    const support = await createUser(app, 'support');
    const feed = await staff({ token: support.token });
    const orderId = await newOrder(customer);
    await feed.waitFor((r) => about(r, orderId).length === 1, 'the order');
  });

  it('a staff socket following an order on the user feed still gets each of its events once', async () => {
    const alice = await createUser(app);
    const orderId = await newOrder(alice);
    const follower = await connectClient(app.baseUrl, { token: admin.token });
    clients.push(follower);
    assert.deepEqual(await emitWithAck(follower.socket, 'order:subscribe', { orderId }), { ok: true });
    const feed = await staff({ token: admin.token });
    await cancel(alice, orderId);
    await follower.waitFor((r) => about(r, orderId).length === 1, 'the follower’s event');
    await feed.waitFor((r) => about(r, orderId).includes('order.updated:CANCELLED'), 'the feed’s event');
    await app.relay.drain();
    assert.deepEqual(about(follower.events(), orderId), ['order.updated:CANCELLED']);
  });
});
