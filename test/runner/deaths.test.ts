import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import deaths, { mayRunAgain, type Failures, type FileOutcome } from './deaths.ts';

// The reporter on its own, fed events as `node --test` emits them (shapes read from Node 24's runner).

async function report(events: object[], target: string): Promise<string> {
  const previous = process.env.FULCRUM_TEST_DEATHS;
  process.env.FULCRUM_TEST_DEATHS = target;
  try {
    let out = '';
    for await (const chunk of deaths(
      (async function* () {
        yield* events as never[];
      })(),
    ))
      out += chunk;
    return out;
  } finally {
    if (previous === undefined) delete process.env.FULCRUM_TEST_DEATHS;
    else process.env.FULCRUM_TEST_DEATHS = previous;
  }
}

const died = (file: string, exitCode: number | null, signal: string | null) => ({
  type: 'test:fail',
  data: { file, name: file, nesting: 0, details: { error: { code: 'ERR_TEST_FAILURE', exitCode, signal } } },
});

describe('the deaths reporter', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fulcrum-deaths-unit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('counts a failure that names no file apart (run.ts then runs nothing again)', async () => {
    const target = join(dir, 'without-file.json');
    await report(
      [
        { type: 'test:stderr', data: { file: 'a.test.ts', message: 'one\ntwo\n' } },
        died('a.test.ts', null, 'SIGKILL'),
        { type: 'test:fail', data: { name: 'global setup', nesting: 0, details: { error: { code: 'X' } } } },
      ],
      target,
    );
    const failures = JSON.parse(readFileSync(target, 'utf8')) as Failures;
    assert.equal(failures.withoutFile, 1);
    assert.equal(failures.files.length, 1);
    assert.deepEqual(failures.files[0]!.stderrTail, ['one', 'two']);
    assert.equal(failures.files[0]!.death?.signal, 'SIGKILL');
  });

  it('keeps the last 30 lines of stderr, and says so when it cannot write its JSON', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => ({
      type: 'test:stderr',
      data: { file: 'b.test.ts', message: `line ${i}\n` },
    }));
    const out = await report([...lines, died('b.test.ts', 3, null)], join(dir, 'missing', 'dir', 'x.json'));
    assert.match(out, /could not write .*x\.json .*no file will be run again/);
    assert.match(out, /b\.test\.ts: its process ended with exit code 3 .*\n {2}line 10\n/);
    assert.doesNotMatch(out, /line 9\n/);
    assert.match(out, /line 39\n$/);
  });

  it('may run again: a signal, or an exit before any test passed; never with a failed test or a file error', () => {
    const base: FileOutcome = { file: 'f', failedTests: 0, passedTests: 3, fileErrors: 0, stderrTail: [] };
    const signal = { exitCode: null, signal: 'SIGSEGV' };
    const exit = { exitCode: 1, signal: null };
    assert.equal(mayRunAgain({ ...base, death: signal }), true);
    assert.equal(mayRunAgain({ ...base, passedTests: 0, death: exit }), true);
    assert.equal(mayRunAgain({ ...base, death: exit }), false, 'exit code after tests passed');
    assert.equal(mayRunAgain({ ...base, failedTests: 1, death: signal }), false);
    assert.equal(mayRunAgain({ ...base, fileErrors: 1, death: signal }), false);
    assert.equal(mayRunAgain({ ...base, failedTests: 1 }), false, 'no death at all');
  });
});
