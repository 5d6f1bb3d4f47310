import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import { createLogger } from '../observability/logger.ts';
import { runExclusive, startJob } from './scheduler.ts';

const logger = createLogger('silent');

describe('scheduler', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  it('runs ticks on demand without overlapping them', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const job = startJob({
      name: 'test.overlap',
      intervalMs: 60_000,
      logger,
      run: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setImmediate(r));
        runs += 1;
        running -= 1;
      },
    });
    await Promise.all([job.tick(), job.tick(), job.tick()]);
    await job.tick();
    await job.stop();
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2, 'three concurrent tick() calls join one run');
  });

  it('stop() waits for the tick in hand and no tick starts afterwards', async () => {
    let release!: () => void;
    let finished = false;
    let runs = 0;
    const job = startJob({
      name: 'test.stop',
      intervalMs: 1,
      logger,
      runAtStart: true,
      run: async () => {
        runs += 1;
        if (runs === 1) await new Promise<void>((r) => (release = r));
        finished = true;
      },
    });
    while (runs === 0) await new Promise((r) => setImmediate(r));
    const stopping = job.stop();
    release();
    await stopping;
    assert.equal(finished, true);
    const runsAtStop = runs;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(runs, runsAtStop);
  });

  it('keeps going after a failing tick', async () => {
    let runs = 0;
    const job = startJob({
      name: 'test.fail',
      intervalMs: 60_000,
      logger,
      run: () => {
        runs += 1;
        return Promise.reject(new Error('boom'));
      },
    });
    await job.tick();
    await job.tick();
    await job.stop();
    assert.equal(runs, 2);
  });

  it('runExclusive: while one run holds the lock, a concurrent one skips or waits, never overlaps', async () => {
    const { db } = t.database;
    let inside = 0;
    let maxInside = 0;
    const body = async () => {
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 10));
      inside -= 1;
      return 'done';
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => runExclusive(db, 'test.lock', body)));
    assert.equal(maxInside, 1);
    assert.ok(results.some((r) => r.ran));
    for (const r of results) if (r.ran) assert.equal(r.value, 'done');
  });

  it('runExclusive releases the lock with the transaction, also when fn throws', async () => {
    const { db } = t.database;
    await assert.rejects(
      runExclusive(db, 'test.release', () => Promise.reject(new Error('x'))),
      /x/,
    );
    const again = await runExclusive(db, 'test.release', () => Promise.resolve(1));
    assert.deepEqual(again, { ran: true, value: 1 });
  });
});
