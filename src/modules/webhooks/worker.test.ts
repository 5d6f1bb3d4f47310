import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultBackoffMs } from './worker.ts';

describe('inbox retry backoff', () => {
  it('doubles from one second and stops growing at an hour', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 8].map((n) => defaultBackoffMs(n)),
      [1_000, 2_000, 4_000, 8_000, 128_000],
    );
    assert.equal(defaultBackoffMs(30), 3_600_000);
  });
});
