import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
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

const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=120000', ...options, ...files],
  { cwd: ROOT, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
