import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../observability/logger.ts';
import { createConnectionHub, READY_EVENT, RESYNC_EVENT, type HubDeps } from './connections.ts';
import { toRealtimeEvent, type OutboxRow } from './events.ts';

function row(userId: string, eventId: number): OutboxRow {
  const payload = { orderId: 'ord_1', status: `S${eventId}`, paymentStatus: null, at: '2026-01-01T00:00:00.000Z' };
  return { id: eventId, user_id: userId, event_id: eventId, type: 'order.updated', payload };
}

/** A user's outbox after retention: events `kept` are still there, the counter stands at `newest`. */
function prunedOutbox(kept: number[], newest: number): HubDeps & { rows: OutboxRow[] } {
  const rows = kept.map((id) => row('usr_a', id));
  return {
    rows,
    logger: createLogger('silent'),
    fetchAfter: (userId, after, limit) =>
      Promise.resolve(rows.filter((r) => r.user_id === userId && r.event_id > after).slice(0, limit)),
    lastEventId: () => Promise.resolve(newest),
    onCatchUpFailed: () => assert.fail('no read fails here'),
  };
}

function recorder() {
  const sent: { name: string; data: Record<string, unknown> }[] = [];
  return {
    sent,
    emit: (name: string, data: unknown) => sent.push({ name, data: data as Record<string, unknown> }),
    names: () => sent.map((s) => (s.name === 'order.updated' ? `event ${String(s.data.eventId)}` : s.name)),
  };
}

async function untilReady(socket: ReturnType<typeof recorder>): Promise<void> {
  for (let i = 0; i < 200 && !socket.sent.some((s) => s.name === READY_EVENT); i++)
    await new Promise((resolve) => setImmediate(resolve));
  assert.ok(
    socket.sent.some((s) => s.name === READY_EVENT),
    'session.ready was sent',
  );
}

describe('resync: a lastEventId whose next events were pruned', () => {
  it('sends resync (nothing replayed) and then session.ready at the newest event; live events follow', async () => {
    // Events 1..4 are gone (retention), 5..7 kept; the client last saw 2.
    const outbox = prunedOutbox([5, 6, 7], 7);
    const hub = createConnectionHub(outbox);
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 2 });
    await untilReady(socket);
    assert.deepEqual(socket.names(), [RESYNC_EVENT, READY_EVENT]);
    assert.deepEqual(socket.sent[0]!.data, { reason: 'events_pruned', lastEventId: 7, oldestEventId: 5 });
    assert.deepEqual(socket.sent[1]!.data, { lastEventId: 7 });
    hub.deliver([toRealtimeEvent(row('usr_a', 8))!]);
    assert.deepEqual(socket.names().slice(2), ['event 8']);
  });

  it('every event of the user pruned: resync with oldestEventId null', async () => {
    const hub = createConnectionHub(prunedOutbox([], 9));
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 0 });
    await untilReady(socket);
    assert.deepEqual(socket.names(), [RESYNC_EVENT, READY_EVENT]);
    assert.deepEqual(socket.sent[0]!.data, { reason: 'events_pruned', lastEventId: 9, oldestEventId: null });
  });

  it('a lastEventId just before the oldest kept event replays normally, without resync', async () => {
    const hub = createConnectionHub(prunedOutbox([5, 6, 7], 7));
    const socket = recorder();
    hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId: 4 });
    await untilReady(socket);
    assert.deepEqual(socket.names(), ['event 5', 'event 6', 'event 7', READY_EVENT]);
  });

  it('an up-to-date client and one without lastEventId get no resync, whatever was pruned', async () => {
    for (const lastEventId of [7, undefined]) {
      const hub = createConnectionHub(prunedOutbox([5, 6, 7], 7));
      const socket = recorder();
      hub.open({ id: 's1', userId: 'usr_a', isStaff: false, emitter: socket, lastEventId });
      await untilReady(socket);
      assert.deepEqual(socket.names(), [READY_EVENT], `lastEventId ${String(lastEventId)}`);
    }
  });
});
