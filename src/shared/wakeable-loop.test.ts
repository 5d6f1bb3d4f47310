import assert from 'node:assert/strict';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { eventually } from '../../test/helpers.ts';
import { createWakeableLoop, startPeriodic } from './wakeable-loop.ts';

const HOUR = 3_600_000;
const unexpected = (error: unknown): void => assert.fail(String(error));

/** A pass the test finishes by hand, counting how many ran and how many ran at once. */
function gatedPasses(more: () => boolean = () => false) {
  const state = { started: 0, active: 0, maxActive: 0, release: [] as (() => void)[] };
  const pass = async (): Promise<boolean> => {
    state.started += 1;
    state.active += 1;
    state.maxActive = Math.max(state.maxActive, state.active);
    await new Promise<void>((resolve) => state.release.push(resolve));
    state.active -= 1;
    return more();
  };
  return { state, pass };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await tick();
}

/** `stop()` does not resolve while the pass in hand runs, and resolves once `release` lets that pass end. */
async function assertStopWaits(stop: () => Promise<void>, release: () => void, message: string): Promise<void> {
  let stopped = false;
  const stopping = stop().then(() => (stopped = true));
  await settle();
  assert.equal(stopped, false, message);
  release();
  await stopping;
}

describe('the wakeable loop (inbox worker and job scheduler)', () => {
  it('a wake during a pass makes exactly one more pass, never two at once', async () => {
    const { state, pass } = gatedPasses();
    const loop = createWakeableLoop({ pass, idleMs: HOUR, onError: unexpected });
    loop.start();
    await settle();
    assert.equal(state.started, 1);
    loop.wake();
    loop.wake();
    state.release.shift()!();
    await settle();
    assert.equal(state.started, 2, 'two wakes while busy: one more pass');
    state.release.shift()!();
    await settle();
    assert.equal(state.started, 2, 'then it idles for idleMs');
    assert.equal(state.maxActive, 1);
    await loop.stop();
  });

  it('runPass joins the pass in hand instead of starting another', async () => {
    const { state, pass } = gatedPasses();
    const loop = createWakeableLoop({ pass, idleMs: HOUR, onError: unexpected });
    loop.start();
    await settle();
    let joined = false;
    const joining = loop.runPass().then(() => (joined = true));
    await settle();
    assert.equal(state.started, 1);
    assert.equal(joined, false, 'not before the pass ends');
    state.release.shift()!();
    await joining;
    assert.equal(state.started, 1);
    await loop.stop();
  });

  it('firstPassNow: false waits for idleMs; a pass that says "more" goes again at once', async () => {
    let left = 3;
    const { state, pass } = gatedPasses(() => --left > 0);
    const loop = createWakeableLoop({ pass, idleMs: HOUR, onError: unexpected });
    loop.start({ firstPassNow: false });
    await settle();
    assert.equal(state.started, 0);
    const first = loop.runPass();
    for (let i = 1; i <= 3; i += 1) {
      await settle();
      assert.equal(state.started, i);
      state.release.shift()!();
    }
    await first;
    await settle();
    assert.equal(state.started, 3, 'no "more": back to waiting');
    await loop.stop();
  });

  it('a pass that throws is reported and the loop carries on; stop waits for the pass in hand', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    let release: () => void = () => {};
    const loop = createWakeableLoop({
      pass: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        await new Promise<void>((resolve) => (release = resolve));
        return false;
      },
      idleMs: HOUR,
      onError: (error) => errors.push(error),
    });
    loop.start();
    await settle();
    assert.equal((errors[0] as Error).message, 'boom');
    loop.wake();
    await settle();
    assert.equal(calls, 2);
    await assertStopWaits(
      () => loop.stop(),
      () => release(),
      'stop waits for the pass in hand',
    );
    loop.wake();
    await settle();
    assert.equal(calls, 2, 'no pass after stop');
  });

  // The outbox relay's OUTBOX_RELAY_MIN_INTERVAL_MS (issue 11): on PGlite one pass per commit cost two statements per
  // order on the one connection that requests share.
  describe('minIntervalMs', () => {
    const INTERVAL = 300;

    it('wakes soon after a pass began are gathered into one pass when the interval is up', async () => {
      const { state, pass } = gatedPasses();
      const loop = createWakeableLoop({ pass, idleMs: HOUR, onError: unexpected, minIntervalMs: INTERVAL });
      loop.start();
      await settle();
      state.release.shift()!();
      await settle();
      assert.equal(state.started, 1);
      for (let i = 0; i < 5; i += 1) loop.wake();
      await sleep(INTERVAL / 3);
      assert.equal(state.started, 1, 'not before the interval is up');
      await sleep(INTERVAL);
      assert.equal(state.started, 2, 'five wakes: one pass');
      state.release.shift()!();
      await settle();
      assert.equal(state.started, 2);
      await loop.stop();
    });

    it('a wake after the interval starts a pass at once; without the option, a wake right after a pass too', async () => {
      for (const minIntervalMs of [INTERVAL, undefined]) {
        const { state, pass } = gatedPasses();
        const loop = createWakeableLoop({ pass, idleMs: HOUR, onError: unexpected, minIntervalMs });
        loop.start();
        await settle();
        state.release.shift()!();
        if (minIntervalMs !== undefined) await sleep(minIntervalMs + 20);
        await settle();
        loop.wake();
        await settle();
        assert.equal(state.started, 2, `minIntervalMs ${minIntervalMs}`);
        state.release.shift()!();
        await loop.stop();
      }
    });

    it('a full batch goes again at once whatever the interval; stop drops a wake waiting for it', async () => {
      let left = 2;
      const { state, pass } = gatedPasses(() => --left > 0);
      const loop = createWakeableLoop({ pass, idleMs: HOUR, onError: unexpected, minIntervalMs: INTERVAL });
      loop.start();
      await settle();
      state.release.shift()!();
      await settle();
      assert.equal(state.started, 2, '"more": no waiting');
      state.release.shift()!();
      await settle();
      loop.wake();
      await loop.stop();
      await sleep(INTERVAL + 50);
      assert.equal(state.started, 2, 'no pass after stop');
    });
  });
});

describe('upkeep on a timer (startPeriodic: PGlite vacuum and checkpoints)', () => {
  it('runs first after the interval, not at once; a run that throws is handed on and the next still runs', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const periodic = startPeriodic(
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('first run fails');
      },
      20,
      (error) => errors.push(error),
    );
    await settle();
    assert.equal(runs, 0, 'nothing at start');
    assert.ok(await eventually(async () => runs >= 3, 5_000), `${runs} runs`);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /first run fails/);
    await periodic.stop();
    const stoppedAt = runs;
    await sleep(60);
    assert.equal(runs, stoppedAt, 'no run after stop');
  });

  it('stop waits for the run in hand', async () => {
    let release: (() => void) | undefined;
    let finished = false;
    const periodic = startPeriodic(
      async () => {
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
      5,
      unexpected,
    );
    assert.ok(await eventually(async () => release !== undefined, 5_000), 'a run began');
    await assertStopWaits(
      () => periodic.stop(),
      () => release!(),
      'still running',
    );
    assert.equal(finished, true);
  });
});
