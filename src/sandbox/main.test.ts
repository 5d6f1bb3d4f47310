import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Stripe from 'stripe';
import type { DeliveryLogEntry } from './state.ts';
import { sdkFor, sessionParams, startReceiver, waitFor } from './test-helpers.ts';

const mainFile = fileURLToPath(new URL('./main.ts', import.meta.url));

test('npm run sandbox: signed webhooks reach --webhook-url, retried on --retry-delays; exits 0 on SIGTERM', async () => {
  const secret = 'whsec_cli_test_secret';
  const receiver = await startReceiver();
  receiver.secret = secret;
  // Two failures first: the log then shows the retry delays the command line asked for.
  receiver.respond = (_event, nth) => (nth <= 2 ? 500 : 200);
  const child = spawn(
    process.execPath,
    [mainFile, '--port', '0', '--webhook-url', receiver.url, '--webhook-secret', secret, '--retry-delays', '10,20'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const exited = once(child, 'exit');
  try {
    await waitFor(
      'the start-up lines',
      () => {
        if (child.exitCode !== null) throw new Error(`sandbox exited: ${out}`);
        return /data file: /.test(out) ? true : undefined;
      },
      30_000,
    );
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    assert.ok(port > 0, out);
    assert.match(out, new RegExp(`webhook secret: ${secret}\n`));
    assert.match(out, /data file: \(none: nothing is persisted\)/);

    const stripe = sdkFor(port);
    const session = await stripe.checkout.sessions.create(sessionParams());
    await stripe.checkout.sessions.expire(session.id);
    const deliveries = await waitFor('the delivery answered 200', () =>
      receiver.received.length === 3 ? receiver.received : undefined,
    );
    for (const { raw, headers } of deliveries) {
      const event = Stripe.webhooks.constructEvent(raw, String(headers['stripe-signature']), secret);
      assert.equal(event.type, 'checkout.session.expired');
      assert.equal(event.data.object.id, session.id);
    }
    assert.deepEqual(receiver.rejected, []);

    const log = await waitFor('three attempts logged', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/_sandbox/deliveries`);
      const { data } = (await res.json()) as { data: DeliveryLogEntry[] };
      return data.length === 3 ? data : undefined;
    });
    assert.deepEqual(
      log.map((e) => [e.attempt, e.statusCode, e.url]),
      [
        [1, 500, receiver.url],
        [2, 500, receiver.url],
        [3, 200, receiver.url],
      ],
    );
    assert.deepEqual(
      log.map((e) => (e.nextRetryAt === null ? null : Date.parse(e.nextRetryAt) - Date.parse(e.at))),
      [10, 20, null],
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
    await receiver.close();
  }
  assert.equal(child.exitCode, 0, out);
});

async function refused(args: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [mainFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, err };
}

test('npm run sandbox: a bad option is refused with usage', async () => {
  const { code, err } = await refused(['--port', 'abc']);
  assert.equal(code, 2);
  assert.match(err, /--port must be an integer/);
});

test('npm run sandbox: a bad --retry-delays is refused with exit code 2', async () => {
  const results = await Promise.all(
    ['abc', '1000,-5', '1000,0', '100000000000'].map(async (value) => ({
      value,
      ...(await refused(['--port', '0', `--retry-delays=${value}`])),
    })),
  );
  for (const { value, code, err } of results) {
    assert.equal(code, 2, `${value}: ${err}`);
    assert.match(err, /--retry-delays must be comma-separated whole milliseconds/, value);
    assert.match(err, /usage: npm run sandbox/, value);
  }
});
