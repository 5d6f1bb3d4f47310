import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../observability/logger.ts';
import { createConnectionHub, READY_EVENT, type Connection, type HubDeps } from './connections.ts';
import { toRealtimeEvent, type OutboxRow, type RealtimeEvent } from './events.ts';

const logger = createLogger('silent');

function row(userId: string, eventId: number, orderId = 'ord_1'): OutboxRow {
  const payload = { orderId, status: `S${eventId}`, paymentStatus: null, at: '2026-01-01T00:00:00.000Z' };
  return { id: eventId, user_id: userId, event_id: eventId, type: 'order.updated', payload };
}
const event = (userId: string, eventId: number, orderId = 'ord_1'): RealtimeEvent =>
  toRealtimeEvent(row(userId, eventId, orderId))!;

/** A socket stand-in recording what it was sent. */
function recorder() {
  const sent: { name: string; data: { eventId?: number; lastEventId?: number } }[] = [];
  return {
    sent,
    emit: (name: string, data: unknown) => sent.push({ name, data: data as { eventId?: number } }),
    eventIds: () => sent.filter((s) => s.name !== READY_EVENT).map((s) => s.data.eventId),
    isReady: () => sent.some((s) => s.name === READY_EVENT),
  };
}

/** An outbox in memory whose reads can be held open, to put live events in the middle of a replay. */
function fakeOutbox() {
  const rows: OutboxRow[] = [];
  let gate: Promise<void> | undefined;
  let release = () => {};
  const failures: Error[] = [];
  const deps: HubDeps = {
    logger,
    batchSize: 2,
    async fetchAfter(userId, after, limit) {
      await gate;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return rows.filter((r) => r.user_id === userId && r.event_id > after).slice(0, limit);
    },
    async lastEventId(userId) {
      await gate;
      return Math.max(0, ...rows.filter((r) => r.user_id === userId).map((r) => r.event_id));
    },
    onCatchUpFailed: (c) => failed.push(c),
  };
  const failed: Connection[] = [];
  return {
    rows,
    deps,
    failed,
    failures,
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => {
      gate = undefined;
      release();
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await settle();
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('connection hub: the seam between replay and live events', () => {
  it('replays after lastEventId, then live events, each once and in order, with live ones arriving mid-replay', async () => {
    const outbox = fakeOutbox();
    for (let i = 1; i <= 5; i++) outbox.rows.push(row('usr_a', i));
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    outbox.hold();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 2 });
    outbox.rows.push(row('usr_a', 6));
    hub.deliver([event('usr_a', 5), event('usr_a', 6)]);
    assert.deepEqual(socket.eventIds(), [], 'nothing is sent before the replay has read the database');
    outbox.release();
    await until(socket.isReady, 'session.ready');
    hub.deliver([event('usr_a', 6), event('usr_a', 7)]);
    assert.deepEqual(socket.eventIds(), [3, 4, 5, 6, 7]);
    assert.deepEqual(socket.sent.find((s) => s.name === READY_EVENT)?.data, { lastEventId: 6 });
  });

  it('without lastEventId starts at the user’s newest event and replays nothing', async () => {
    const outbox = fakeOutbox();
    outbox.rows.push(row('usr_a', 1), row('usr_a', 2));
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: undefined });
    await until(socket.isReady, 'session.ready');
    hub.deliver([event('usr_a', 2), event('usr_a', 3)]);
    assert.deepEqual(socket.eventIds(), [3]);
  });

  it('a lastEventId beyond the user’s newest counts as the newest, so later events are not silenced', async () => {
    const outbox = fakeOutbox();
    outbox.rows.push(row('usr_a', 1), row('usr_a', 2));
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 40 });
    await until(socket.isReady, 'session.ready');
    assert.deepEqual(socket.sent.find((s) => s.name === READY_EVENT)?.data, { lastEventId: 2 });
    hub.deliver([event('usr_a', 3)]);
    assert.deepEqual(socket.eventIds(), [3]);
  });

  it('when a live event skips one, the missing one is read from the database and sent first', async () => {
    const outbox = fakeOutbox();
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 0 });
    await until(socket.isReady, 'session.ready');
    outbox.rows.push(row('usr_a', 1), row('usr_a', 2), row('usr_a', 3));
    hub.deliver([event('usr_a', 1), event('usr_a', 3)]);
    await until(() => socket.eventIds().length === 3, 'the gap to be filled');
    hub.deliver([event('usr_a', 2), event('usr_a', 3)]);
    assert.deepEqual(socket.eventIds(), [1, 2, 3]);
  });

  it('never sends a user’s events to another customer, even one that tried to follow the order', async () => {
    const outbox = fakeOutbox();
    const hub = createConnectionHub(outbox.deps);
    const owner = recorder();
    const stranger = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: owner, lastEventId: 0 });
    const c = hub.open({ id: 's2', userId: 'usr_b', isStaff: false, emitter: stranger, lastEventId: 0 });
    hub.follow(c, 'ord_1');
    await until(() => owner.isReady() && stranger.isReady(), 'both ready');
    outbox.rows.push(row('usr_a', 1));
    hub.deliver([event('usr_a', 1)]);
    assert.deepEqual(owner.eventIds(), [1]);
    assert.deepEqual(stranger.eventIds(), []);
  });

  it('staff following an order get its events once, and nothing of the owner’s other orders', async () => {
    const outbox = fakeOutbox();
    const hub = createConnectionHub(outbox.deps);
    const staff = recorder();
    const c = hub.open({ id: 's1', userId: 'usr_staff', isStaff: true, emitter: staff, lastEventId: 0 });
    await until(staff.isReady, 'ready');
    hub.follow(c, 'ord_1');
    hub.deliver([event('usr_a', 1, 'ord_1'), event('usr_a', 2, 'ord_2'), event('usr_a', 1, 'ord_1')]);
    hub.deliver([event('usr_a', 3, 'ord_1')]);
    assert.deepEqual(staff.eventIds(), [1, 3]);
    hub.unfollow(c, 'ord_1');
    hub.deliver([event('usr_a', 4, 'ord_1')]);
    assert.deepEqual(staff.eventIds(), [1, 3]);
  });

  it('a database failure while catching up fails the socket instead of leaving a gap', async () => {
    const outbox = fakeOutbox();
    outbox.failures.push(new Error('connection lost'));
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 0 });
    await until(() => outbox.failed.length === 1, 'the failure');
    hub.deliver([event('usr_a', 1)]);
    assert.deepEqual(socket.eventIds(), []);
    assert.equal(socket.isReady(), false);
    assert.equal(hub.connectionCount(), 0);
  });

  it('too many live events while catching up fail the socket rather than grow without bound', async () => {
    const outbox = fakeOutbox();
    const hub = createConnectionHub({ ...outbox.deps, maxBuffered: 3 });
    const socket = recorder();
    outbox.hold();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 0 });
    hub.deliver([1, 2, 3, 4].map((n) => event('usr_a', n)));
    outbox.release();
    await until(() => outbox.failed.length === 1, 'the failure');
    assert.deepEqual(socket.eventIds(), []);
  });

  it('a row with a payload of the wrong shape is stepped over, not retried forever', async () => {
    const outbox = fakeOutbox();
    outbox.rows.push(row('usr_a', 1), { ...row('usr_a', 2), payload: { nonsense: true } }, row('usr_a', 3));
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 0 });
    await until(socket.isReady, 'ready');
    assert.deepEqual(socket.eventIds(), [1, 3]);
  });

  it('a closed socket is sent nothing more', async () => {
    const outbox = fakeOutbox();
    const hub = createConnectionHub(outbox.deps);
    const socket = recorder();
    const c = hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 0 });
    await until(socket.isReady, 'ready');
    hub.close(c);
    hub.deliver([event('usr_a', 1)]);
    assert.deepEqual(socket.eventIds(), []);
    assert.equal(hub.connectionCount(), 0);
  });
});
