import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultRetention, pruneOnce } from '../../src/modules/jobs/retention.ts';
import { createUser } from '../helpers.ts';
import { append, connectClient, startRealtimeApp, unpublished, waitUntil, type RealtimeTestApp } from './support.ts';

const DAY = 24 * 3600_000;

// The retention job and the socket replay together: a client whose lastEventId fell out of the replay window
// is told `resync`; one within it replays as always.
describe('realtime: retention and resync over Socket.IO', () => {
  let app: RealtimeTestApp;
  let user: Awaited<ReturnType<typeof createUser>>;
  before(async () => {
    app = await startRealtimeApp();
    user = await createUser(app);
    // Events 1..5; the relay publishes them; 1..3 are made older than the replay window, then pruned.
    for (let i = 1; i <= 5; i++) await append(app.database, user.id, `S${i}`);
    await waitUntil(async () => (await unpublished(app.database)) === 0, 'the relay to publish events 1..5');
    await app.database.db
      .updateTable('outbox')
      .set({ created_at: new Date(Date.now() - 8 * DAY) })
      .where('user_id', '=', user.id)
      .where('event_id', '<=', 3)
      .execute();
    const pruned = await pruneOnce(app.database.db, new Date(), defaultRetention);
    assert.equal(pruned.outbox, 3);
  });
  after(() => app.close());

  it('a lastEventId older than the window gets resync instead of a partial replay, then live events', async () => {
    const client = await connectClient(app.baseUrl, { token: user.token, lastEventId: 1 });
    try {
      assert.deepEqual(
        client.received.map((r) => r.name),
        ['resync', 'session.ready'],
      );
      assert.deepEqual(client.received[0]!.data, { reason: 'events_pruned', lastEventId: 5, oldestEventId: 4 });
      assert.deepEqual(client.received[1]!.data, { lastEventId: 5 });
      await append(app.database, user.id, 'S6');
      await client.waitFor((r) => r.some((x) => x.data.eventId === 6), 'event 6 live');
      assert.deepEqual(
        client.events().map((e) => e.data.status),
        ['S6'],
      );
    } finally {
      client.close();
    }
  });

  it('a lastEventId within the window replays the kept events as always, without resync', async () => {
    const client = await connectClient(app.baseUrl, { token: user.token, lastEventId: 3 });
    try {
      assert.ok(!client.received.some((r) => r.name === 'resync'));
      assert.deepEqual(
        client.events().map((e) => e.data.eventId),
        [4, 5, 6],
      );
      assert.deepEqual(client.received.at(-1), { name: 'session.ready', data: { lastEventId: 6 } });
    } finally {
      client.close();
    }
  });
});
