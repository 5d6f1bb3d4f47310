import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../observability/logger.ts';
import { laneIndex } from './inbox-batch.ts';
import { createInboxLanes } from './inbox-lanes.ts';
import type { InboxRow } from './inbox.repository.ts';

// The worker's lanes (issue 11): claimed rows wait in their key's lane; each lane applies one chunk at a time.

/** Two keys that fall in different lanes of two. */
const [A, B] = ['k1', 'k2', 'k3', 'k4', 'k5'].reduce<string[]>(
  (found, key) =>
    found.length < 2 && found.every((k) => laneIndex(k, 2) !== laneIndex(key, 2)) ? [...found, key] : found,
  [],
) as [string, string];

const row = (eventId: string, key?: string) => ({ event_id: eventId, type: key ?? '' }) as InboxRow;

/** Lanes whose apply records each chunk and waits until the test lets it finish. */
function harness(options: { lanes?: number; maxChunk?: number; fail?: boolean } = {}) {
  const chunks: { leaseId: string; events: string[]; finish: () => void }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const lanes = createInboxLanes({
    lanes: options.lanes ?? 2,
    maxChunk: options.maxChunk ?? 100,
    laneOf: (r) => (r.type === '' ? undefined : r.type),
    logger: createLogger('silent'),
    apply: async (leaseId, rows) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise<void>((resolve) =>
        chunks.push({ leaseId, events: rows.map((r) => r.event_id), finish: resolve }),
      );
      running -= 1;
      if (options.fail) throw new Error('the database is gone');
    },
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { lanes, chunks, settle, mostAtOnce: () => mostAtOnce };
}

describe('inbox lanes', () => {
  it("a key's rows stay in one lane across claims, applied one chunk at a time in claim order", async () => {
    const { lanes, chunks, settle, mostAtOnce } = harness();
    lanes.add('lease-1', [row('a1', A), row('b1', B)]);
    await settle();
    assert.deepEqual(
      chunks.map((c) => c.events),
      [['a1'], ['b1']],
      'each key applied in its own lane, both at once',
    );
    lanes.add('lease-2', [row('a2', A), row('a3', A)]);
    await settle();
    assert.equal(chunks.length, 2, "the key's next rows wait while its lane is busy");
    chunks[1]!.finish(); // b's lane is free: it does not take a's rows
    await settle();
    assert.equal(chunks.length, 2);
    chunks[0]!.finish();
    await settle();
    assert.deepEqual([chunks[2]?.leaseId, chunks[2]?.events], ['lease-2', ['a2', 'a3']], 'one chunk, after a1');
    chunks[2]!.finish();
    await lanes.idle();
    assert.equal(mostAtOnce(), 2);
  });

  it('a lane that is free starts at once, whatever the other lanes are doing', async () => {
    const { lanes, chunks, settle } = harness();
    lanes.add('lease-1', [row('a1', A)]);
    await settle();
    lanes.add('lease-2', [row('b1', B)]);
    await settle();
    assert.deepEqual(
      chunks.map((c) => c.events),
      [['a1'], ['b1']],
      'the second claim did not wait for the first',
    );
    for (const c of chunks) c.finish();
    await lanes.idle();
  });

  it('a chunk holds rows of one lease only, and at most maxChunk of them', async () => {
    const { lanes, chunks, settle } = harness({ lanes: 1, maxChunk: 2 });
    lanes.add('lease-1', [row('x1')]);
    await settle();
    lanes.add('lease-2', [row('y1'), row('y2'), row('y3')]);
    lanes.add('lease-3', [row('z1')]);
    const order: string[][] = [];
    while (order.length < 4) {
      await settle();
      const c = chunks[order.length]!;
      order.push([c.leaseId, ...c.events]);
      c.finish();
    }
    assert.deepEqual(order, [
      ['lease-1', 'x1'],
      ['lease-2', 'y1', 'y2'],
      ['lease-2', 'y3'],
      ['lease-3', 'z1'],
    ]);
    await lanes.idle();
    assert.equal(lanes.inFlight(), 0);
  });

  it('counts rows in flight until applied; roomBelow and idle wait for them', async () => {
    const { lanes, chunks, settle } = harness();
    lanes.add('lease-1', [row('a1', A), row('a2', A), row('b1', B)]);
    await settle();
    assert.equal(lanes.inFlight(), 3);
    let room = false;
    let idle = false;
    void lanes.roomBelow(3).then(() => (room = true));
    void lanes.idle().then(() => (idle = true));
    await settle();
    assert.equal(room, false);
    chunks.find((c) => c.events.includes('b1'))!.finish();
    await settle();
    assert.equal(lanes.inFlight(), 2);
    assert.equal(room, true, 'fewer than 3 in flight');
    assert.equal(idle, false);
    chunks.find((c) => c.events.includes('a1'))!.finish();
    await settle();
    chunks.find((c) => c.events.includes('a2'))!.finish();
    await settle();
    assert.equal(idle, true);
  });

  it('a chunk whose apply fails is counted finished and the lane goes on', async () => {
    const { lanes, chunks, settle } = harness({ lanes: 1, fail: true });
    lanes.add('lease-1', [row('x1')]);
    await settle();
    lanes.add('lease-2', [row('y1')]);
    chunks[0]!.finish();
    await settle();
    assert.deepEqual(chunks[1]?.events, ['y1'], 'the next chunk was applied after the failure');
    chunks[1].finish();
    await lanes.idle();
    assert.equal(lanes.inFlight(), 0);
  });
});
