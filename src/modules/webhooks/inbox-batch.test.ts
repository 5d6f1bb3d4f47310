import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitIntoLanes } from './inbox-batch.ts';
import type { InboxRow } from './inbox.repository.ts';

const row = (id: string, key?: string) => ({ id, payload: { key } }) as unknown as InboxRow;
const keyOf = (r: InboxRow) => (r.payload as { key?: string }).key;
const ids = (chunks: InboxRow[][]) => chunks.map((c) => c.map((r) => r.id));

describe('inbox batch lanes', () => {
  it("keeps one key's rows in one lane, in arrival order", () => {
    const rows = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id, i) => row(id, `pay_${i % 3}`));
    const chunks = splitIntoLanes(rows, 4, keyOf);
    for (const key of ['pay_0', 'pay_1', 'pay_2']) {
      const holding = chunks.filter((c) => c.some((r) => keyOf(r) === key));
      assert.equal(holding.length, 1, `${key} in one lane`);
    }
    for (const chunk of ids(chunks)) assert.deepEqual(chunk, [...chunk].sort(), 'arrival order kept');
    assert.equal(chunks.flat().length, rows.length);
  });

  it('spreads rows without a key round the lanes; never more lanes than rows; one lane is the whole batch', () => {
    const rows = ['a', 'b', 'c', 'd', 'e'].map((id) => row(id));
    assert.deepEqual(ids(splitIntoLanes(rows, 2, keyOf)), [
      ['a', 'c', 'e'],
      ['b', 'd'],
    ]);
    assert.equal(splitIntoLanes(rows.slice(0, 2), 8, keyOf).length, 2);
    assert.deepEqual(ids(splitIntoLanes(rows, 1, undefined)), [['a', 'b', 'c', 'd', 'e']]);
    assert.deepEqual(splitIntoLanes([], 4, keyOf), []);
  });
});
