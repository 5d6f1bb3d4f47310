import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { startSandbox } from './index.ts';
import { control, sdkFor, sessionParams, startReceiver, waitFor } from './test-helpers.ts';

describe('persistence with dataFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fulcrum-sandbox-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a restart keeps sessions, payments, events, idempotency keys and undelivered webhooks', async () => {
    const dataFile = join(dir, 'nested', 'sandbox.json');
    const receiver = await startReceiver();
    receiver.respond = () => 500;
    const first = await startSandbox({ port: 0, dataFile, webhookUrl: receiver.url, retryDelaysMs: [600_000] });
    receiver.secret = first.webhookSecret;
    let stripe = sdkFor(first.port);
    const open = await stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'persist-1' });
    const paid = await stripe.checkout.sessions.create(sessionParams());
    assert.equal((await control(first, 'POST', `/_sandbox/checkout/sessions/${paid.id}/pay`)).status, 200);
    await waitFor('four failed first attempts', async () => {
      const log = (await control(first, 'GET', '/_sandbox/deliveries')).json as { data: unknown[] };
      return log.data.length === 4 ? true : undefined;
    });
    const eventIds = receiver.received.map((d) => d.event.id);
    await first.close();
    assert.ok(existsSync(dataFile));
    assert.deepEqual(
      readdirSync(join(dir, 'nested')).filter((f) => f.endsWith('.tmp')),
      [],
    );

    receiver.respond = () => 200;
    const second = await startSandbox({ port: 0, dataFile, webhookUrl: receiver.url, retryDelaysMs: [600_000] });
    try {
      assert.equal(second.webhookSecret, first.webhookSecret, 'a generated secret is kept');
      stripe = sdkFor(second.port);
      const reopened = await stripe.checkout.sessions.retrieve(open.id);
      assert.equal(reopened.status, 'open');
      assert.equal(reopened.url, `${second.url}/checkout/${open.id}`);
      const replay = await stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'persist-1' });
      assert.equal(replay.id, open.id);
      const completed = await stripe.checkout.sessions.retrieve(paid.id);
      assert.equal(completed.payment_status, 'paid');
      assert.equal((await stripe.paymentIntents.retrieve(completed.payment_intent as string)).status, 'succeeded');
      const listed = await stripe.events.list({ limit: 100 });
      assert.deepEqual(listed.data.map((e) => e.id).sort(), [...eventIds].sort());
      assert.ok(listed.data.every((e) => e.pending_webhooks === 1));

      const flushed = await control(second, 'POST', '/_sandbox/webhooks/flush');
      assert.deepEqual(flushed.json, { flushed: 4 });
      for (const id of eventIds) assert.equal(receiver.received.filter((d) => d.event.id === id).length, 2);
      const log = (await control(second, 'GET', '/_sandbox/deliveries')).json as { data: { attempt: number }[] };
      assert.deepEqual(log.data.map((d) => d.attempt).sort(), [1, 1, 1, 1, 2, 2, 2, 2]);
    } finally {
      await second.close();
      await receiver.close();
    }
  });

  test('no event is delivered before the change it reports is in the data file', async () => {
    const dataFile = join(dir, 'durable-before-deliver.json');
    const receiver = await startReceiver();
    const missing: string[] = [];
    // At the moment each delivery arrives, the file on disk must already hold its event.
    receiver.respond = (event) => {
      const onDisk = existsSync(dataFile) ? readFileSync(dataFile, 'utf8') : '';
      if (!onDisk.includes(event.id)) missing.push(`${event.type} ${event.id}`);
      return 200;
    };
    const sandbox = await startSandbox({ port: 0, dataFile, webhookUrl: receiver.url, retryDelaysMs: [600_000] });
    receiver.secret = sandbox.webhookSecret;
    try {
      const stripe = sdkFor(sandbox.port);
      for (let i = 0; i < 3; i += 1) {
        const session = await stripe.checkout.sessions.create(sessionParams());
        assert.equal((await control(sandbox, 'POST', `/_sandbox/checkout/sessions/${session.id}/pay`)).status, 200);
      }
      await waitFor('every event delivered', async () => (receiver.received.length >= 6 ? true : undefined));
      assert.deepEqual(missing, []);
    } finally {
      await sandbox.close();
      await receiver.close();
    }
  });

  test('timers resume after a restart: expiry and asynchronous payments', async () => {
    const dataFile = join(dir, 'timers.json');
    let offsetMs = 0;
    const now = () => Date.now() + offsetMs;
    const first = await startSandbox({ port: 0, dataFile, asyncPaymentDelayMs: 600_000, now });
    let stripe = sdkFor(first.port);
    const expiring = await stripe.checkout.sessions.create(
      sessionParams({ expires_at: Math.floor(Date.now() / 1000) + 31 * 60 }),
    );
    const processing = await stripe.checkout.sessions.create(sessionParams());
    await control(first, 'POST', `/_sandbox/checkout/sessions/${processing.id}/pay`, { card: '4000000000003220' });
    await first.close();

    offsetMs = 40 * 60 * 1000;
    const second = await startSandbox({ port: 0, dataFile, now, sweepIntervalMs: 20 });
    try {
      stripe = sdkFor(second.port);
      const types = await waitFor('expiry and async success', async () => {
        const list = await stripe.events.list({ type: 'checkout.session.*', limit: 100 });
        const found = list.data.map((e) => e.type);
        return found.includes('checkout.session.expired') && found.includes('checkout.session.async_payment_succeeded')
          ? found
          : undefined;
      });
      assert.equal(types.filter((t) => t === 'checkout.session.expired').length, 1);
      assert.equal((await stripe.checkout.sessions.retrieve(expiring.id)).status, 'expired');
      assert.equal((await stripe.checkout.sessions.retrieve(processing.id)).payment_status, 'paid');
    } finally {
      await second.close();
    }
  });

  test('undelivered events wait, without an endpoint, until one is set', async () => {
    const dataFile = join(dir, 'no-endpoint.json');
    const first = await startSandbox({
      port: 0,
      dataFile,
      webhookUrl: 'http://127.0.0.1:1/',
      retryDelaysMs: [600_000],
    });
    const stripe = sdkFor(first.port);
    const session = await stripe.checkout.sessions.create(sessionParams());
    await stripe.checkout.sessions.expire(session.id);
    await waitFor('the failed first attempt', async () => {
      const log = (await control(first, 'GET', '/_sandbox/deliveries')).json as { data: unknown[] };
      return log.data.length === 1 ? true : undefined;
    });
    const secret = first.webhookSecret;
    await first.close();

    const second = await startSandbox({ port: 0, dataFile, retryDelaysMs: [600_000] });
    const receiver = await startReceiver();
    try {
      assert.deepEqual((await control(second, 'POST', '/_sandbox/webhooks/flush')).json, { flushed: 0 });
      receiver.secret = secret;
      second.setWebhookEndpoint(receiver.url);
      assert.deepEqual((await control(second, 'POST', '/_sandbox/webhooks/flush')).json, { flushed: 1 });
      assert.equal(receiver.received[0]?.event.type, 'checkout.session.expired');
    } finally {
      await second.close();
      await receiver.close();
    }
  });

  test('a delivery given up by an older sandbox (status failed) is retried after the restart', async () => {
    const dataFile = join(dir, 'given-up.json');
    const first = await startSandbox({
      port: 0,
      dataFile,
      webhookUrl: 'http://127.0.0.1:1/',
      retryDelaysMs: [600_000],
    });
    const stripe = sdkFor(first.port);
    await stripe.checkout.sessions.expire((await stripe.checkout.sessions.create(sessionParams())).id);
    await waitFor('the failed first attempt', async () => {
      const log = (await control(first, 'GET', '/_sandbox/deliveries')).json as { data: unknown[] };
      return log.data.length === 1 ? true : undefined;
    });
    const secret = first.webhookSecret;
    await first.close();
    const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as { deliveries: { status: string }[] };
    saved.deliveries[0]!.status = 'failed';
    writeFileSync(dataFile, JSON.stringify(saved));

    const receiver = await startReceiver();
    receiver.secret = secret;
    const second = await startSandbox({ port: 0, dataFile, webhookUrl: receiver.url, sweepIntervalMs: 20 });
    try {
      const delivery = await waitFor('the retry', () => receiver.received[0]);
      assert.equal(delivery.event.type, 'checkout.session.expired');
    } finally {
      await second.close();
      await receiver.close();
    }
  });

  test('a file that is not a sandbox data file stops the start with a clear error', async () => {
    const dataFile = join(dir, 'foreign.json');
    writeFileSync(dataFile, JSON.stringify({ hello: 'world' }));
    await assert.rejects(startSandbox({ port: 0, dataFile }), /is not a sandbox data file/);
  });

  // `npm run sandbox --data-file …` killed with SIGKILL the moment it answered: what it acknowledged is there after
  // the restart. (Saves used to be debounced after the answer, so a killed sandbox forgot a session it had returned
  // and answered 404 for it; Fulcrum then kept the order forever.)
  test('what a killed sandbox acknowledged survives the restart', async (t) => {
    const dataFile = join(dir, 'killed', 'sandbox.json');
    const mainFile = fileURLToPath(new URL('./main.ts', import.meta.url));
    const children: ReturnType<typeof spawn>[] = [];
    const start = async () => {
      const child = spawn(process.execPath, [mainFile, '--port', '0', '--data-file', dataFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const port = await waitFor(
        'the sandbox listening',
        () => {
          if (child.exitCode !== null) throw new Error(`sandbox exited: ${out}`);
          const match = /data file: /.test(out) ? /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out) : null;
          return match === null ? undefined : Number(match[1]);
        },
        30_000,
      );
      const kill = async () => {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      };
      return { port, kill };
    };

    // A failed assertion must not leave a sandbox running (the test process would wait for it).
    t.after(() => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let sandbox = await start();
    let stripe = sdkFor(sandbox.port);
    const session = await stripe.checkout.sessions.create(sessionParams());
    await sandbox.kill();

    sandbox = await start();
    stripe = sdkFor(sandbox.port);
    assert.equal((await stripe.checkout.sessions.retrieve(session.id)).status, 'open');
    const paid = await fetch(`http://127.0.0.1:${sandbox.port}/_sandbox/checkout/sessions/${session.id}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ card: '4242424242424242' }),
    });
    assert.equal(paid.status, 200);
    await sandbox.kill();

    sandbox = await start();
    stripe = sdkFor(sandbox.port);
    const after = await stripe.checkout.sessions.retrieve(session.id);
    assert.equal(after.status, 'complete');
    assert.equal(after.payment_status, 'paid');
    await sandbox.kill();
  });
});
