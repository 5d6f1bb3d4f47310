import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Stripe from 'stripe';
import { embeddedSandboxOptions } from './embedded.ts';
import { startSandbox } from './index.ts';
import { control, sdkFor, sessionParams, startReceiver, waitFor } from './test-helpers.ts';

describe('the sandbox as src/main.ts starts it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fulcrum-sandbox-embedded-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('kept in DATA_DIR/sandbox.json unless DATABASE_URL is memory://; webhooks held until the endpoint', () => {
    const base = { port: 0, dataDir: dir };
    for (const databaseUrl of [undefined, 'postgres://fulcrum@db.example:5432/fulcrum', 'postgresql://h/db']) {
      const opts = embeddedSandboxOptions({ ...base, databaseUrl });
      assert.equal(opts.dataFile, join(dir, 'sandbox.json'), String(databaseUrl));
      assert.equal(opts.holdWebhooksUntilEndpoint, true);
    }
    const inMemory = embeddedSandboxOptions({ ...base, databaseUrl: 'memory://' });
    assert.equal(inMemory.dataFile, undefined);
    assert.equal(inMemory.holdWebhooksUntilEndpoint, true);
    assert.equal(inMemory.webhookSecret, undefined);
    assert.equal(embeddedSandboxOptions({ ...base, webhookSecret: 'whsec_cfg' }).webhookSecret, 'whsec_cfg');
  });

  test('a session past expires_at at restart: its checkout.session.expired reaches the endpoint set later', async () => {
    const dataDir = join(dir, 'restart');
    // As main.ts with a PostgreSQL DATABASE_URL: persisted, endpoint known only once the API listens.
    const opts = embeddedSandboxOptions({ port: 0, dataDir, databaseUrl: 'postgres://h/db' });
    let offsetMs = 0;
    const now = () => Date.now() + offsetMs;
    const first = await startSandbox({ ...opts, now });
    const session = await sdkFor(first.port).checkout.sessions.create(
      sessionParams({ expires_at: Math.floor(Date.now() / 1000) + 31 * 60 }),
    );
    const secret = first.webhookSecret;
    await first.close();
    assert.ok(existsSync(join(dataDir, 'sandbox.json')));

    offsetMs = 40 * 60 * 1000;
    const second = await startSandbox({ ...opts, now, sweepIntervalMs: 20 });
    const receiver = await startReceiver();
    receiver.secret = secret;
    try {
      const stripe = sdkFor(second.port);
      // The restored timer fires before there is an endpoint (main.ts: admin, JWT secret, listen…).
      const expired = await waitFor('the expiry at restart', async () => {
        const list = await stripe.events.list({ type: 'checkout.session.expired' });
        return list.data[0];
      });
      assert.equal((expired.data.object as Stripe.Checkout.Session).id, session.id);
      assert.equal(expired.pending_webhooks, 1, 'held for the endpoint');
      assert.deepEqual((await control(second, 'GET', '/_sandbox/deliveries')).json, { data: [] });

      second.setWebhookEndpoint(receiver.url);
      const delivery = await waitFor('the held delivery', () => receiver.received[0]);
      const verified = Stripe.webhooks.constructEvent(
        delivery.raw,
        String(delivery.headers['stripe-signature']),
        secret,
      );
      assert.equal(verified.id, expired.id);
      assert.equal(verified.type, 'checkout.session.expired');
      assert.equal(verified.data.object.id, session.id);
      assert.deepEqual(receiver.rejected, []);
      await waitFor('delivered', async () =>
        (await stripe.events.retrieve(expired.id)).pending_webhooks === 0 ? true : undefined,
      );
    } finally {
      await second.close();
      await receiver.close();
    }
  });

  test('held deliveries survive a restart that happens before the endpoint is set', async () => {
    const dataFile = join(dir, 'held.json');
    const first = await startSandbox({ port: 0, dataFile, holdWebhooksUntilEndpoint: true });
    const stripe = sdkFor(first.port);
    const session = await stripe.checkout.sessions.create(sessionParams());
    await stripe.checkout.sessions.expire(session.id);
    const secret = first.webhookSecret;
    await first.close();

    const second = await startSandbox({ port: 0, dataFile, holdWebhooksUntilEndpoint: true });
    const receiver = await startReceiver();
    receiver.secret = secret;
    try {
      assert.equal((await sdkFor(second.port).events.list()).data[0]?.pending_webhooks, 1);
      second.setWebhookEndpoint(receiver.url);
      await control(second, 'POST', '/_sandbox/webhooks/flush');
      await waitFor('the held delivery', () => receiver.received[0]);
      assert.deepEqual(
        receiver.received.map((d) => d.event.type),
        ['checkout.session.expired'],
      );
    } finally {
      await second.close();
      await receiver.close();
    }
  });

  test('faults still apply to held events: duplicate sends the extra copies once there is an endpoint', async () => {
    const sandbox = await startSandbox({ port: 0, holdWebhooksUntilEndpoint: true, sweepIntervalMs: 20 });
    const receiver = await startReceiver();
    receiver.secret = sandbox.webhookSecret;
    try {
      await control(sandbox, 'POST', '/_sandbox/faults', { duplicate: 1 });
      const stripe = sdkFor(sandbox.port);
      await stripe.checkout.sessions.expire((await stripe.checkout.sessions.create(sessionParams())).id);
      assert.deepEqual((await control(sandbox, 'POST', '/_sandbox/webhooks/flush')).json, { flushed: 0 });
      sandbox.setWebhookEndpoint(receiver.url);
      await waitFor('the event and its copy', () => (receiver.received.length === 2 ? true : undefined));
      assert.equal(receiver.received[0]?.event.id, receiver.received[1]?.event.id);
    } finally {
      await sandbox.close();
      await receiver.close();
    }
  });
});
