import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { MAX_RERUN_FILES, mayRunAgain, type Failures } from './deaths.ts';
import { preflight, serviceAddresses } from './preflight.ts';
import { isServicesTest, ROOT, testFiles, type Tier } from './tiers.ts';

/**
 * `npm test` and `npm run test:services`:
 *
 *   node test/runner/run.ts [--services] [node --test options…] [files…]
 *
 * Without files, the tier's files (tiers.ts). With `--services`, the services every tier-2 test needs are
 * checked first (preflight.ts, a few seconds at most): if any is missing, one line each on stderr, exit 2,
 * and no test runs. Options starting with `-` (e.g. --test-name-pattern=…) go to `node --test`.
 *
 * Results go to stdout (spec); a file whose process died gets a post-mortem on stderr (deaths.ts) and, when it
 * is the only kind of failure, one more run (MAX_RERUN_FILES). With a --test-reporter of your own, neither.
 */

/** Exit code when the preflight found a service missing (a failing test exits 1). */
export const PREFLIGHT_FAILED = 2;

const args = process.argv.slice(2);
const tier: Tier = args.includes('--services') ? 'services' : 'bare';
const rest = args.filter((a) => a !== '--services');
const options = rest.filter((a) => a.startsWith('-'));
const named = rest.filter((a) => !a.startsWith('-'));
const script = tier === 'services' ? 'npm run test:services' : 'npm test';

function fail(code: number, lines: string[]): never {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(code);
}

let files: string[];
if (named.length === 0) {
  files = testFiles(tier);
  if (files.length === 0) fail(1, [`${script}: no test files found`]);
} else {
  const absent = named.filter((f) => !existsSync(f));
  if (absent.length > 0)
    fail(
      1,
      absent.map((f) => `${script}: no such file: ${f}`),
    );
  files = named.map((f) => resolve(f));
  const needServices = named.filter((f) => isServicesTest(relative(ROOT, resolve(f))));
  if (tier === 'bare' && needServices.length > 0) {
    fail(
      1,
      needServices.map((f) => `${script}: ${f} needs services: run it with \`npm run test:services -- ${f}\``),
    );
  }
}

if (tier === 'services') {
  const missing = await preflight(serviceAddresses(process.env));
  if (missing.length > 0) {
    fail(PREFLIGHT_FAILED, [
      `${script}: ${missing.length} of the services its tests need ${missing.length === 1 ? 'is' : 'are'} missing; no test was run:`,
      ...missing.map((m) => `  missing ${m.line}`),
    ]);
  }
  process.stdout.write(`${script}: PostgreSQL, Redis, RabbitMQ and Chromium are there\n`);
}

const ownReporter = options.some((o) => o === '--test-reporter' || o.startsWith('--test-reporter='));
const scratch = mkdtempSync(join(tmpdir(), 'fulcrum-test-run-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** Runs `node --test` on the files; its exit code (1 for a signal) and, with our reporters, what failed. */
async function runFiles(
  list: string[],
  round: number,
  extra: string[],
): Promise<{ code: number; failures: Failures | undefined }> {
  const report = join(scratch, `failing-${round}.json`);
  const reporters = ownReporter
    ? []
    : [
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${join(ROOT, 'test/runner/deaths.ts')}`,
        '--test-reporter-destination=stderr',
      ];
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=2', '--test-timeout=120000', ...reporters, ...extra, ...list],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, FULCRUM_TEST_DEATHS: report } },
  );
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code] = (await once(child, 'exit')) as [number | null];
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  const failures = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as Failures) : undefined;
  return { code: code ?? 1, failures };
}

const first = await runFiles(files, 1, options);
const died = first.failures?.files ?? [];
const onlyDeaths =
  first.code !== 0 &&
  first.failures?.withoutFile === 0 &&
  died.length > 0 &&
  died.length <= MAX_RERUN_FILES &&
  died.every(mayRunAgain);
if (!onlyDeaths) process.exit(first.code);
const again = died.map((f) => relative(ROOT, f.file));
const one = again.length === 1;
process.stderr.write(
  `\n${script}: ${one ? "1 file's process" : `${again.length} files' processes`} died while none of ` +
    `${one ? 'its' : 'their'} tests had failed (how, above); nothing else failed. Running ${one ? 'it' : 'them'} ` +
    `once more; that run decides: ${again.join(' ')}\n\n`,
);
// The files named, whatever shard of the first run they were in.
const second = await runFiles(
  again,
  2,
  options.filter((o) => !o.startsWith('--test-shard')),
);
process.stderr.write(
  `\n${script}: the second run of ${again.join(' ')} ${second.code === 0 ? 'passed' : `failed (exit code ${second.code})`}\n`,
);
process.exit(second.code);
