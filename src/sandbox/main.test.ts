import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { sdkFor } from './test-helpers.ts';

const mainFile = fileURLToPath(new URL('./main.ts', import.meta.url));

test('npm run sandbox: prints the URL and secret, serves the API, exits 0 on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    [mainFile, '--port', '0', '--webhook-url', 'http://127.0.0.1:1/hook', '--webhook-secret', 'whsec_cli'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const exited = once(child, 'exit');
  try {
    while (!/webhook secret: /.test(out)) {
      if (child.exitCode !== null) throw new Error(`sandbox exited: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    assert.ok(port > 0, out);
    assert.match(out, /webhook secret: whsec_cli/);
    const list = await sdkFor(port).events.list();
    assert.deepEqual(list.data, []);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await exited;
  assert.equal(code, 0);
});

test('npm run sandbox: a bad option is refused with usage', async () => {
  const child = spawn(process.execPath, [mainFile, '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(err, /--port must be an integer/);
});
