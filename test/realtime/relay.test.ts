import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startOutboxRelay, type RealtimeEvent } from '../../src/modules/realtime/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers.ts';
import { append, unpublished, waitUntil } from './support.ts';

const logger = createLogger('silent');

describe('outbox relay', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  it('sends committed rows to the socket sink in id order and marks them published after', async () => {
    const sent: RealtimeEvent[] = [];
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => sent.push(...events),
      pollMs: 50,
    });
    try {
      await append(t.database, 'usr_r1', 'CREATED');
      await append(t.database, 'usr_r2', 'CREATED');
      await append(t.database, 'usr_r1', 'CANCELLED');
      await relay.drain();
      const mine = sent.filter((e) => e.userId === 'usr_r1' || e.userId === 'usr_r2');
      assert.deepEqual(
        mine.map((e) => [e.userId, e.eventId, e.data.status]),
        [
          ['usr_r1', 1, 'CREATED'],
          ['usr_r2', 1, 'CREATED'],
          ['usr_r1', 2, 'CANCELLED'],
        ],
      );
      assert.equal(await unpublished(t.database), 0);
      assert.equal(relay.isActive(), true);
    } finally {
      await relay.stop();
    }
  });

  it('a row that committed after a later row of its user was numbered: each user in eventId order, staff in feed order', async () => {
    // Row b (higher id) was numbered 1 while row a (lower id) was still uncommitted; a is numbered 2 now.
    const a = await append(t.database, 'usr_late', 'CREATED');
    const b = await append(t.database, 'usr_late', 'CANCELLED');
    await t.database.db.updateTable('outbox').set({ event_id: 1 }).where('id', '=', b.id).execute();
    await sql`insert into user_event_counters (user_id, last_event_id) values ('usr_late', 1)`.execute(t.database.db);
    const own: RealtimeEvent[] = [];
    const staffFeed: RealtimeEvent[] = [];
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      publishToSockets: (events, staff) => {
        own.push(...events.filter((e) => e.userId === 'usr_late'));
        staffFeed.push(...staff);
      },
      pollMs: 50,
    });
    try {
      await relay.drain();
      assert.deepEqual(
        own.map((e) => [e.eventId, e.data.status]),
        [
          [1, 'CANCELLED'],
          [2, 'CREATED'],
        ],
      );
      const seqs = staffFeed.map((e) => e.eventId);
      assert.deepEqual(
        seqs,
        [...seqs].sort((x, y) => x - y),
        'the staff feed goes out in its own order',
      );
      assert.ok(a.id < b.id);
    } finally {
      await relay.stop();
    }
  });

  it('when the socket sink fails, nothing is marked, and the rows go out in order once it works again', async () => {
    const sent: RealtimeEvent[] = [];
    let isDown = true;
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => {
        if (isDown && events.length > 0) throw new Error('redis is not connected');
        sent.push(...events);
      },
      pollMs: 30,
    });
    try {
      await append(t.database, 'usr_f', 'CREATED');
      await append(t.database, 'usr_f', 'PAID');
      await relay.drain();
      assert.equal(await unpublished(t.database), 2, 'both rows stay unpublished while the sink fails');
      assert.equal(sent.length, 0);
      isDown = false;
      await waitUntil(() => sent.length === 2, 'the retry after the sink came back');
      assert.deepEqual(
        sent.map((e) => e.eventId),
        [1, 2],
      );
      await waitUntil(async () => (await unpublished(t.database)) === 0, 'rows marked');
    } finally {
      await relay.stop();
    }
  });

  it('a row whose payload has the wrong shape is marked and stepped over, and later rows still go', async () => {
    const sent: RealtimeEvent[] = [];
    await sql`insert into outbox (user_id, event_id, type, payload) values ('usr_bad', 1, 'order.updated', '{"x":1}')`.execute(
      t.database.db,
    );
    await append(t.database, 'usr_bad2', 'CREATED');
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => sent.push(...events),
    });
    try {
      await relay.drain();
      assert.deepEqual(
        sent.map((e) => e.userId),
        ['usr_bad2'],
      );
      assert.equal(await unpublished(t.database), 0);
    } finally {
      await relay.stop();
    }
  });

  it('a commit that appends wakes the relay at once, with polling out of the picture (PGlite: in-process NOTIFY)', async () => {
    const sent: RealtimeEvent[] = [];
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => sent.push(...events),
      pollMs: 3_600_000,
    });
    try {
      await waitUntil(() => relay.isActive(), 'the relay to become active');
      await relay.drain(); // the start's own pass is over: only a wake-up can send what follows
      // The poll is an hour away, so whatever arrives was carried by the commit's notification.
      for (const status of ['CREATED', 'PAID']) {
        await append(t.database, 'usr_wake', status);
        await waitUntil(() => sent.some((e) => e.userId === 'usr_wake' && e.data.status === status), `${status} sent`);
      }
      await relay.drain(); // rows are marked after they are sent
      assert.equal(await unpublished(t.database), 0);
    } finally {
      await relay.stop();
    }
  });

  it('after stop, no more rows are sent', async () => {
    const sent: RealtimeEvent[] = [];
    const relay = startOutboxRelay({
      database: t.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => sent.push(...events),
      pollMs: 20,
    });
    await relay.drain();
    await relay.stop();
    await append(t.database, 'usr_after', 'CREATED');
    relay.kick();
    await relay.drain();
    assert.equal(sent.length, 0);
    assert.equal(await unpublished(t.database), 1);
  });
});
