// The harness's own kill loop: a process between its SIGKILL and its restart is never picked again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, ManagedProcess } from '../../chaos/cluster.ts';
import { createEventLog } from '../../chaos/log.ts';
import { killLoop } from '../../chaos/mayhem.ts';
import { createRandom } from '../../chaos/prng.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process whose kill and start take a little while, as real ones do; it counts both. */
function fakeProcess() {
  let alive = true;
  const counts = { kills: 0, starts: 0, overlapping: 0 };
  const proc: ManagedProcess = {
    name: 'all',
    role: 'all',
    port: 1,
    get alive() {
      return alive;
    },
    get ready() {
      return alive;
    },
    async start() {
      if (alive) counts.overlapping += 1;
      counts.starts += 1;
      await tick(5);
      alive = true;
    },
    async kill() {
      if (!alive) return;
      counts.kills += 1;
      await tick(20); // the process is still there until its exit arrives
      alive = false;
    },
    stop: async () => {},
    tail: () => [],
  };
  return { proc, counts };
}

describe('chaos kill loop', () => {
  it('two kills planned a moment apart do not kill and restart one process twice at once', async () => {
    const { proc, counts } = fakeProcess();
    const cluster = { fulcrum: [proc] } as unknown as Cluster;
    const now = Date.now();
    // Both kills fall within 2 ms of each other, long before the first kill has finished.
    await killLoop(
      createEventLog(now),
      createRandom(7),
      cluster,
      { start: now, stopAt: now + 2 },
      {
        kills: 2,
        terminations: 0,
      },
    );
    assert.equal(counts.overlapping, 0, 'a start while the process was still running');
    assert.equal(counts.kills, 1);
    assert.equal(counts.starts, 1);
    assert.equal(proc.alive, true, 'it runs again after the loop');
  });
});
