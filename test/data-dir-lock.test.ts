import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DataDirLockedError, openDatabase } from '../src/db/database.ts';
import { freePort, START_BOUND_MS, waitFor } from './process-helpers.ts';

/** A pid that surely belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function run(
  args: string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('one process per PGlite DATA_DIR', () => {
  const root = mkdtempSync(join(tmpdir(), 'fulcrum-lock-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('when a DATA_DIR is open, a second open fails with one clear line; after close it succeeds', async () => {
    const dataDir = join(root, 'twice');
    const first = await openDatabase({ url: undefined, dataDir });
    assert.equal(readFileSync(join(dataDir, 'fulcrum.lock'), 'utf8').trim(), String(process.pid));
    await assert.rejects(openDatabase({ url: undefined, dataDir }), (error: unknown) => {
      assert.ok(error instanceof DataDirLockedError);
      assert.match(error.message, new RegExp(`^another Fulcrum process \\(pid ${process.pid}\\) is using DATA_DIR `));
      assert.match(error.message, /stop it first/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    await first.close();
    assert.equal(existsSync(join(dataDir, 'fulcrum.lock')), false, 'close releases the lock');
    const second = await openDatabase({ url: undefined, dataDir });
    await second.close();
  });

  it('takes over a stale lock: a dead pid, garbage, or our own pid left by a previous run', async () => {
    const dataDir = join(root, 'stale');
    await (await openDatabase({ url: undefined, dataDir })).close();
    for (const content of [`${deadPid()}\n`, 'not a pid', `${process.pid}\n`]) {
      writeFileSync(join(dataDir, 'fulcrum.lock'), content);
      const database = await openDatabase({ url: undefined, dataDir });
      assert.equal(readFileSync(join(dataDir, 'fulcrum.lock'), 'utf8').trim(), String(process.pid), content);
      await database.close();
    }
  });

  it('an in-memory database takes no lock', async () => {
    const dataDir = join(root, 'memory');
    const a = await openDatabase({ url: 'memory://', dataDir });
    const b = await openDatabase({ url: 'memory://', dataDir });
    await Promise.all([a.close(), b.close()]);
    assert.equal(existsSync(join(dataDir, 'fulcrum.lock')), false);
  });

  it('while the server runs on the embedded database, cli create-admin and migrate exit 1 with one line', async () => {
    const dataDir = join(root, 'server');
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'test' };
    const server = spawn(process.execPath, ['src/main.ts', 'all'], {
      env: { ...env, PORT: String(port), SANDBOX_PORT: 'off' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      assert.equal((await waitFor(`http://127.0.0.1:${port}/readyz`, START_BOUND_MS)).status, 200);
      const expected = new RegExp(`another Fulcrum process \\(pid ${server.pid}\\) is using DATA_DIR .*stop it first`);
      const cli = await run(['src/cli.ts', 'create-admin', 'boss@example.test'], env, 'a long enough password\n');
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, expected);
      assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
      const migrate = await run(['src/main.ts', 'migrate'], env);
      assert.equal(migrate.code, 1, migrate.stderr);
      assert.match(migrate.stderr, expected);
      assert.equal(migrate.stderr.trim().split('\n').length, 1, migrate.stderr);
    } finally {
      server.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => server.once('exit', (c) => resolve(c)));
    assert.equal(code, 0);
    // Once the server is gone the lock is too, and the CLI gets its turn.
    const cli = await run(['src/cli.ts', 'create-admin', 'boss@example.test'], env, 'a long enough password\n');
    assert.equal(cli.code, 0, cli.stderr);
  });
});
