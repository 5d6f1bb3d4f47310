import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduler } from './scheduler.ts';

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => {
      if (check()) resolve();
      else setTimeout(poll, 2);
    };
    poll();
  });
}

test('jobs run in due order; a replaced or cancelled job does not run', async () => {
  const s = createScheduler(Date.now, 1000);
  const ran: string[] = [];
  const t = Date.now();
  s.at('b', t + 20, () => ran.push('b'));
  s.at('a', t + 5, () => ran.push('a'));
  s.at('c', t + 10, () => ran.push('c-old'));
  s.at('c', t + 10, () => ran.push('c'));
  s.at('d', t + 1, () => ran.push('d'));
  s.cancel('d');
  await until(() => ran.length === 3);
  assert.deepEqual(ran, ['a', 'c', 'b']);
  assert.equal(s.has('b'), false);
  s.close();
});

test('a job scheduled from a job, and an injected clock that jumps ahead', async () => {
  let offset = 0;
  const s = createScheduler(() => Date.now() + offset, 5);
  const ran: string[] = [];
  s.at('far', Date.now() + 3_600_000, () => ran.push('far'));
  s.at('first', Date.now(), () => {
    ran.push('first');
    s.at('second', Date.now() + 1, () => ran.push('second'));
  });
  await until(() => ran.length === 2);
  offset = 3_600_000;
  await until(() => ran.length === 3);
  assert.deepEqual(ran, ['first', 'second', 'far']);
  s.close();
});

test('nothing runs after close', async () => {
  const s = createScheduler(Date.now, 1000);
  let ran = false;
  s.at('x', Date.now(), () => (ran = true));
  s.close();
  s.at('y', Date.now(), () => (ran = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ran, false);
});
