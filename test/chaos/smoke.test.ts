// One tiny chaos run on PGlite, end to end: Fulcrum's `all` process with its embedded sandbox, a few seconds
// of workload with faults and a SIGKILL, settle, every invariant checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOnce } from '../../chaos/run.ts';

describe('npm run chaos', () => {
  it('a short run on PGlite with a SIGKILL keeps every invariant', async () => {
    const lines: string[] = [];
    const result = await runOnce({
      seed: 20261130,
      durationS: 6,
      pgAdminUrl: undefined,
      redisUrl: 'redis://127.0.0.1:1', // only a PostgreSQL run uses Redis: a closed port, should that change
      keep: false,
      say: (line) => lines.push(line),
      plan: { standaloneSandbox: false, customers: 2, kills: 1, waitForExpiry: false },
    });
    assert.deepEqual(result.violations, [], result.log.entries.map((e) => `${e.t} ${e.who} ${e.what}`).join('\n'));
    assert.match(result.summary, /^[1-9]\d* orders/, 'the workload placed orders');
    assert.ok(
      result.log.entries.some((e) => e.who === 'chaos' && e.what === 'SIGKILL all'),
      'the process was killed',
    );
    assert.ok(
      result.log.entries.some((e) => e.what.startsWith('all restarted')),
      'and restarted on the same DATA_DIR',
    );
  });
});
