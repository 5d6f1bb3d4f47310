import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A `node --test` reporter (run.ts adds it beside spec, on stderr) for test files whose process died: it ended
 * with an exit code other than 0 or by a signal while none of its tests failed — a crash, a kill from outside,
 * `process.exit`. Node's spec reporter then prints only "test failed", without the exit code, the signal or
 * where the output stopped, and CI shows the tail of a long log. So at the end this writes, per such file, how
 * its process ended, how many of its tests had reported, and the last lines it wrote on stderr; and, when
 * FULCRUM_TEST_DEATHS names a file, every failing file as JSON (run.ts decides from it whether to run again).
 */

export interface FileOutcome {
  file: string;
  /** Tests (and suites) of the file that failed on their own: assertions, hooks, timeouts. */
  failedTests: number;
  /** Tests and suites of the file that passed before it ended. */
  passedTests: number;
  /** Set when the file's process ended badly: its exit code, or the signal that ended it. */
  death?: { exitCode: number | null; signal: string | null };
  /** The last lines the file's process wrote on stderr. */
  stderrTail: string[];
}

const TAIL_LINES = 30;

/**
 * A file whose process died while none of its tests had failed is run once more (run.ts), alone with the others
 * that died, if at most this many died and no test failed anywhere: the second run's result is the result. A
 * failing test is never run again.
 */
export const MAX_RERUN_FILES = 2;

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
  const outcome = (file: string): FileOutcome => {
    const key = resolve(file);
    let found = outcomes.get(key);
    if (found === undefined) {
      found = { file: key, failedTests: 0, passedTests: 0, stderrTail: [] };
      outcomes.set(key, found);
    }
    return found;
  };
  for await (const event of source) {
    const file = event.data.file;
    if (file === undefined) continue;
    if (event.type === 'test:stderr') {
      const tail = outcome(file).stderrTail;
      tail.push(...(event.data.message ?? '').split('\n').filter((line) => line !== ''));
      tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
    } else if (event.type === 'test:fail') {
      const death = deathOf(event);
      if (death !== undefined) outcome(file).death = death;
      else outcome(file).failedTests += 1;
    } else if (event.type === 'test:pass') {
      outcome(file).passedTests += 1;
    }
  }
  const failing = [...outcomes.values()].filter((o) => o.death !== undefined || o.failedTests > 0);
  const target = process.env.FULCRUM_TEST_DEATHS;
  if (target !== undefined && target !== '') writeFileSync(target, JSON.stringify(failing));
  for (const died of failing) {
    if (died.death === undefined || died.failedTests > 0) continue;
    yield (
      `\n${died.file}: its process ended with ${describeDeath(died.death)} while none of its tests had failed ` +
      `(tests and suites passed before it ended: ${died.passedTests}); the last lines it wrote on stderr:\n` +
      (died.stderrTail.length === 0 ? '  (none)\n' : died.stderrTail.map((line) => `  ${line}\n`).join(''))
    );
  }
}
