import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, START_BOUND_MS, waitFor } from './process-helpers.ts';

describe('the process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-start-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on the embedded database with no server, answers /healthz, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['src/main.ts', 'all'], {
      env: { PATH: process.env.PATH, PORT: String(port), DATA_DIR: dataDir, SANDBOX_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const health = await waitFor(`http://127.0.0.1:${port}/healthz`, START_BOUND_MS);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
  });

  it('generated a JWT secret in DATA_DIR, and migrate on an existing data dir succeeds', async () => {
    assert.ok(readFileSync(join(dataDir, 'jwt-secret'), 'utf8').length >= 32);
    const run = spawn(process.execPath, ['src/main.ts', 'migrate'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: 'inherit',
    });
    const [code] = (await once(run, 'exit')) as [number | null];
    assert.equal(code, 0);
  });
});
