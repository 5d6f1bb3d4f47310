import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A `node --test` reporter (run.ts adds it beside spec, on stderr) for test files whose process died: it ended
 * with an exit code other than 0 or by a signal while none of its tests failed — a crash, a kill from outside,
 * `process.exit`. Node's spec reporter then prints only "test failed", without the exit code, the signal or
 * where the output stopped, and CI shows the tail of a long log. So at the end this writes, per such file, how
 * its process ended, how many of its tests had passed, and the last lines it wrote on stderr (and any error Node
 * reported for the file outside its tests); and, when FULCRUM_TEST_DEATHS names a file, what failed as JSON
 * (`Failures`: run.ts decides from it whether to run a file again).
 */

export interface FileOutcome {
  file: string;
  /** Tests (and suites) of the file that failed on their own: assertions, hooks, timeouts. */
  failedTests: number;
  /** Tests and suites of the file that passed before it ended. */
  passedTests: number;
  /** Errors Node reported for the file outside its tests (e.g. a test's asynchronous activity after it ended). */
  fileErrors: number;
  /** Set when the file's process ended badly: its exit code, or the signal that ended it. */
  death?: { exitCode: number | null; signal: string | null };
  /** The last lines the file's process wrote on stderr, and Node's errors for the file. */
  stderrTail: string[];
}

/** What failed in a run: the files, and failures Node reported without a file (a global setup, coverage). */
export interface Failures {
  files: FileOutcome[];
  withoutFile: number;
}

const TAIL_LINES = 30;

/**
 * A file whose process died while none of its tests had failed is run once more (run.ts), alone with the others
 * that died, if at most this many died and nothing else failed: the second run's result is the result. A failing
 * test is never run again.
 */
export const MAX_RERUN_FILES = 2;

/**
 * Whether a file's failure is a death that a second run may decide: its process was ended by a signal (a kill
 * from outside, a native crash), or it exited before any test passed (as if killed); in both cases with no test
 * failing and no error reported for the file. An exit code after tests passed is a failure of its own (Node
 * exits 1 when a test leaves a rejected promise or a throw behind it) and is never run again.
 */
export function mayRunAgain(outcome: FileOutcome): boolean {
  if (outcome.death === undefined || outcome.failedTests > 0 || outcome.fileErrors > 0) return false;
  return outcome.death.signal !== null || outcome.passedTests === 0;
}

interface TestEvent {
  type: string;
  data: {
    file?: string;
    name?: string;
    nesting?: number;
    message?: string;
    details?: { error?: { code?: string; exitCode?: number | null; signal?: string | null } };
  };
}

/** Whether a failure is the one node adds for the file itself when its process ended badly. */
function deathOf(event: TestEvent): FileOutcome['death'] {
  const error = event.data.details?.error;
  if (event.data.nesting !== 0 || error?.code !== 'ERR_TEST_FAILURE') return undefined;
  if (!('exitCode' in error) || !('signal' in error)) return undefined;
  return { exitCode: error.exitCode ?? null, signal: error.signal ?? null };
}

/** "signal SIGKILL", "exit code 3". */
export function describeDeath(death: NonNullable<FileOutcome['death']>): string {
  return death.signal !== null ? `signal ${death.signal}` : `exit code ${String(death.exitCode)}`;
}

export default async function* deaths(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const outcomes = new Map<string, FileOutcome>();
  let withoutFile = 0;
  const outcome = (file: string): FileOutcome => {
    const key = resolve(file);
    let found = outcomes.get(key);
    if (found === undefined) {
      found = { file: key, failedTests: 0, passedTests: 0, fileErrors: 0, stderrTail: [] };
      outcomes.set(key, found);
    }
    return found;
  };
  const keep = (tail: string[], text: string) => {
    tail.push(...text.split('\n').filter((line) => line !== ''));
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  for await (const event of source) {
    const file = event.data.file;
    if (file === undefined) {
      if (event.type === 'test:fail') withoutFile += 1;
      continue;
    }
    if (event.type === 'test:stderr') {
      keep(outcome(file).stderrTail, event.data.message ?? '');
    } else if (event.type === 'test:diagnostic') {
      // Node's own errors for a file outside its tests; a file's summary lines come without a file.
      outcome(file).fileErrors += 1;
      keep(outcome(file).stderrTail, `(node) ${event.data.message ?? ''}`);
    } else if (event.type === 'test:fail') {
      const death = deathOf(event);
      if (death !== undefined) outcome(file).death = death;
      else outcome(file).failedTests += 1;
    } else if (event.type === 'test:pass') {
      outcome(file).passedTests += 1;
    }
  }
  const failures: Failures = {
    files: [...outcomes.values()].filter((o) => o.death !== undefined || o.failedTests > 0 || o.fileErrors > 0),
    withoutFile,
  };
  const target = process.env.FULCRUM_TEST_DEATHS;
  if (target !== undefined && target !== '') {
    try {
      writeFileSync(target, JSON.stringify(failures));
    } catch (error) {
      yield `\ndeaths reporter: could not write ${target} (${(error as Error).message}); no file will be run again\n`;
    }
  }
  for (const died of failures.files) {
    if (died.death === undefined || died.failedTests > 0) continue;
    yield (
      `\n${died.file}: its process ended with ${describeDeath(died.death)} while none of its tests had failed ` +
      `(tests and suites passed before it ended: ${died.passedTests}); the last lines it wrote on stderr:\n` +
      (died.stderrTail.length === 0 ? '  (none)\n' : died.stderrTail.map((line) => `  ${line}\n`).join(''))
    );
  }
}
