import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasPrefix, newId } from './ids.ts';

describe('newId', () => {
  it('is the prefix and 20 letters of 0-9a-z, never the same twice across pool refills', () => {
    const ids = Array.from({ length: 5000 }, () => newId('ord')); // 100,000 letters: many 4 KiB pools
    for (const id of ids) assert.match(id, /^ord_[0-9a-z]{20}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(hasPrefix(ids[0]!, 'ord'));
    assert.equal(hasPrefix(ids[0]!, 'pay'), false);
  });

  it('uses every letter about equally (no modulo bias toward 0-3)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 18_000; i += 1) {
      for (const letter of newId('evt').slice(4)) counts.set(letter, (counts.get(letter) ?? 0) + 1);
    }
    assert.equal(counts.size, 36);
    // 360,000 letters, 10,000 expected each (σ ≈ 98). With `byte % 36` over all 256 bytes, 0-3 come up 8/7 as often
    // (≈ 11,250: 12 σ off); a bound of ±6 % (6 σ) tells the two apart and never fails by chance.
    const [low, high] = [0.94 * 10_000, 1.06 * 10_000];
    for (const [letter, n] of counts) assert.ok(n > low && n < high, `${letter}: ${n}`);
  });
});
