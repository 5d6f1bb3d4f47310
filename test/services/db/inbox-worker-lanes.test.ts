import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { laneIndex } from '../../../src/modules/webhooks/inbox-batch.ts';
import { insertInboxEvent } from '../../../src/modules/webhooks/inbox.repository.ts';
import { createInboxWorker, type InboxWorker } from '../../../src/modules/webhooks/worker.ts';
import { waitUntil } from '../../realtime/support.ts';
import { createServerDatabase, type ServerDatabase } from '../support.ts';

// The running worker claims while its lanes apply earlier claims (issue 11): an event is not held back by another
// lane's work, and one key's events (one payment's) still run one at a time, in claim order. Needs the PostgreSQL
// server: on PGlite's one connection a lane's open transaction holds back every other statement.
describe('inbox worker lanes: claiming goes on while lanes apply, one key stays in one lane', () => {
  const HOUR = 3_600_000;
  let t: ServerDatabase;
  let worker: InboxWorker | undefined;
  /** What the handler did, in order: "start evt" / "end evt". */
  let log: string[];
  /** Events whose handler waits until released. */
  let gates: Map<string, { release: () => void; held: Promise<void> }>;
  let n = 0;

  before(async () => {
    t = await createServerDatabase();
  });
  after(() => t.drop());
  afterEach(async () => {
    for (const gate of gates.values()) gate.release();
    await worker?.stop();
    worker = undefined;
  });

  /** Two keys in different lanes of two, and the key is the event's type (laneOf). */
  const [keyA, keyB] = ['lane.a', 'lane.b', 'lane.c', 'lane.d'].reduce<string[]>(
    (found, key) =>
      found.length < 2 && found.every((k) => laneIndex(k, 2) !== laneIndex(key, 2)) ? [...found, key] : found,
    [],
  ) as [string, string];

  function start(options: { batchSize?: number; failing?: string } = {}) {
    log = [];
    gates = new Map();
    worker = createInboxWorker({
      db: t.database.db,
      clock: systemClock,
      logger: createLogger('silent'),
      maxAttempts: 3,
      pollMs: HOUR,
      concurrency: 2,
      batchSize: options.batchSize ?? 10,
      laneOf: (row) => row.type,
      handle: async (_trx, row) => {
        log.push(`start ${row.event_id}`);
        await gates.get(row.event_id)?.held;
        if (row.event_id === options.failing) throw new Error('this event cannot be applied');
        log.push(`end ${row.event_id}`);
        return { outcome: 'handled' };
      },
    });
    worker.start();
    return worker;
  }

  /** Stores an event (held until released when `held`) and wakes the worker; resolves with its id. */
  async function store(type: string, held = false): Promise<string> {
    n += 1;
    const eventId = `evt_lane_${n}`;
    if (held) {
      let release!: () => void;
      const holding = new Promise<void>((resolve) => (release = resolve));
      gates.set(eventId, { release, held: holding });
    }
    await insertInboxEvent(t.database.db, { provider: 'stripe', eventId, type, payload: '{}' }, new Date());
    worker!.wake();
    return eventId;
  }
  const release = (eventId: string) => gates.get(eventId)!.release();
  const ended = (eventId: string) => log.includes(`end ${eventId}`);
  const started = (eventId: string) => log.includes(`start ${eventId}`);
  const claimed = async (eventIds: string[]) =>
    (
      await t.database.db
        .selectFrom('webhook_inbox')
        .select('event_id')
        .where('event_id', 'in', eventIds)
        .where('attempts', '>', 0)
        .execute()
    ).length;
  /** The handler ends before its transaction commits: a status is waited for, not read once. */
  const reaches = (eventId: string, status: string) =>
    waitUntil(async () => (await statusOf(eventId)) === status, `${eventId} ${status}`);
  const statusOf = async (eventId: string) =>
    (
      await t.database.db
        .selectFrom('webhook_inbox')
        .select(['status', 'last_error'])
        .where('event_id', '=', eventId)
        .executeTakeFirstOrThrow()
    ).status;

  it('an event claimed while another lane is busy is applied before that lane finishes', async () => {
    start();
    const slow = await store(keyA, true);
    await waitUntil(() => started(slow), 'the slow event to start');
    const quick = await store(keyB);
    await waitUntil(() => ended(quick), 'the second event, in the other lane, to be applied');
    assert.equal(ended(slow), false, 'the slow event is still being applied');
    release(slow);
    await waitUntil(() => ended(slow), 'the slow event to finish');
    await reaches(slow, 'processed');
    await reaches(quick, 'processed');
  });

  it("one key's events wait for each other across claims and run in the order they were claimed", async () => {
    start();
    const first = await store(keyA, true);
    await waitUntil(() => started(first), 'the first event to start');
    const second = await store(keyA);
    const other = await store(keyB);
    await waitUntil(() => ended(other), 'the other lane to apply its event');
    assert.equal(await claimed([second]), 1, 'the second event of the key is claimed meanwhile');
    assert.equal(started(second), false, 'but not applied while the first of its key runs');
    release(first);
    await waitUntil(() => ended(second), 'the second event to be applied');
    assert.ok(log.indexOf(`end ${first}`) < log.indexOf(`start ${second}`), log.join(', '));
  });

  it('holds fewer than two batches of rows: a claim waits until fewer than one batch is in hand', async () => {
    start({ batchSize: 2 });
    const held = await store(keyA, true);
    await waitUntil(() => started(held), 'the held event to start');
    const rest: string[] = [];
    for (let i = 0; i < 5; i += 1) rest.push(await store(keyA));
    await waitUntil(async () => (await claimed(rest)) >= 1, 'a second claim');
    // Let the worker take every chance to claim more while the first row still holds its lane.
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The held row was claimed alone (one in hand, fewer than a batch): one more claim of up to two, then none while
    // two or more are in hand — at most 2 × 2 − 1 of the six, however the stores and claims interleaved.
    const inHand = await claimed([held, ...rest]);
    assert.ok(inHand >= 2 && inHand <= 3, `${inHand} of 6 claimed while the lane was held`);
    release(held);
    await waitUntil(() => rest.every(ended), 'every event to be applied once the lane is free');
    for (const eventId of [held, ...rest]) await reaches(eventId, 'processed');
  });

  it('a failing event is recorded failed and its lane goes on with the events after it', async () => {
    const failing = `evt_lane_${n + 2}`;
    start({ failing });
    const held = await store(keyA, true);
    await waitUntil(() => started(held), 'the held event to start');
    const bad = await store(keyA);
    assert.equal(bad, failing);
    const after = await store(keyA);
    release(held);
    await waitUntil(() => ended(after), 'the event after the failing one to be applied');
    await reaches(bad, 'failed');
    await reaches(after, 'processed');
  });

  it('stop waits for every claimed row, queued ones included', async () => {
    start();
    const held = await store(keyA, true);
    await waitUntil(() => started(held), 'the held event to start');
    const queued = await store(keyA);
    await waitUntil(async () => (await claimed([queued])) === 1, 'the queued event to be claimed');
    let stopped = false;
    const stopping = worker!.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(stopped, false, 'stop waits while a claimed row is being applied');
    release(held);
    await stopping;
    assert.equal(await statusOf(held), 'processed');
    assert.equal(await statusOf(queued), 'processed');
  });
});
