import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { call } from '../helpers.ts';
import { freePort } from '../process-helpers.ts';
import { startFulcrum, type FulcrumProcess } from '../realtime/processes.ts';

const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;
const ADMIN = { email: 'owner@example.test', password: 'a long admin password 42' };
/** The lease a dead process held before the fix: the bound below has to be well under it. */
const OLD_LEASE_MS = 5 * 60_000;

/** Forwards every request to the sandbox and remembers what was asked (method and path). */
async function recordingProxy(target: string): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split('?')[0]}`);
    const upstream = http.request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A process killed (SIGKILL) while its reconciliation run waits on the gateway never releases the run's lease.
// The restarted process must reconcile at its first interval all the same — it used to wait for the dead holder's
// five-minute lease, so a payment whose webhooks were all lost stayed unconfirmed for minutes after any crash.
describe('payments: reconciliation after the process holding its lease was killed', () => {
  let sandbox: Sandbox;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let dataDir: string;
  let fulcrum: FulcrumProcess | undefined;
  let env: Record<string, string>;

  const faults = (body: unknown) =>
    fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    sandbox = await startSandbox({ port: 0, webhookSecret: WEBHOOK_SECRET, retryDelaysMs: [100, 200, 400] });
    proxy = await recordingProxy(sandbox.url);
    dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-reconcile-crash-'));
    const port = await freePort();
    env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      JWT_SECRET: `reconcile-crash-${randomBytes(24).toString('hex')}`,
      SANDBOX_PORT: 'off',
      SEED_DEMO: 'false',
      STRIPE_API_BASE: proxy.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RECONCILE_INTERVAL_SECONDS: '1',
      RECONCILE_AFTER_SECONDS: '1',
      FULCRUM_ADMIN_EMAIL: ADMIN.email,
      FULCRUM_ADMIN_PASSWORD: ADMIN.password,
    };
    sandbox.setWebhookEndpoint(`http://127.0.0.1:${port}/api/v1/webhooks/stripe`);
  });

  after(async () => {
    if (fulcrum !== undefined && fulcrum.child.exitCode === null) fulcrum.child.kill('SIGKILL');
    await proxy?.close();
    await sandbox?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the restarted process confirms a payment whose webhooks were all dropped, long before the old lease ran out', async () => {
    // A slow gateway keeps the first run inside GET /v1/events (lease taken) when the process is killed.
    await faults({ apiLatencyMs: 4_000 });
    fulcrum = await startFulcrum('all', env);
    await until(
      'a reconciliation run in the gateway event log',
      async () => (proxy.seen.includes('GET /v1/events') ? true : undefined),
      30_000,
    );
    const exited = once(fulcrum.child, 'exit');
    fulcrum.child.kill('SIGKILL');
    await exited;

    // Every webhook is lost from now on: only reconciliation can tell the restarted process about the money.
    await faults({ dropRate: 1 });
    const killedAt = Date.now();
    fulcrum = await startFulcrum('all', env);
    const api = { baseUrl: fulcrum.url };
    const admin = await call(api, 'POST', '/api/v1/auth/login', { body: ADMIN });
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    const product = await call(api, 'POST', '/api/v1/admin/products', {
      token: admin.body.accessToken,
      body: { sku: 'CRASH-1', name: 'Lamp', price: { amount: 4200, currency: 'usd' }, stock: 3 },
    });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const customer = await call(api, 'POST', '/api/v1/auth/register', {
      body: { email: 'buyer@example.test', password: 'correct horse battery', name: 'Buyer' },
    });
    assert.equal(customer.status, 201, JSON.stringify(customer.body));
    const token = customer.body.accessToken as string;
    const order = await call(api, 'POST', '/api/v1/orders', {
      token,
      headers: { 'idempotency-key': 'crash-order' },
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const checkout = await call(api, 'POST', `/api/v1/orders/${order.body.id}/checkout`, {
      token,
      headers: { 'idempotency-key': 'crash-checkout' },
      body: {},
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    const sessionId = String(checkout.body.payment.checkoutUrl).split('/').at(-1)!;
    const paid = await fetch(`${sandbox.url}/_sandbox/checkout/sessions/${sessionId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ card: '4242424242424242' }),
    });
    assert.equal(paid.status, 200);

    const deliveries = (await (await fetch(`${sandbox.url}/_sandbox/deliveries`)).json()) as {
      data: { dropped?: boolean }[];
    };
    assert.ok(deliveries.data.length > 0 && deliveries.data.every((d) => d.dropped === true), 'every webhook dropped');
    // The dead holder's lease would end OLD_LEASE_MS after the kill; a quarter of that is ample for a run every second.
    await until(
      'the order PAID through reconciliation',
      async () => {
        const res = await call(api, 'GET', `/api/v1/orders/${order.body.id}`, { token });
        return res.body.status === 'PAID' ? true : undefined;
      },
      OLD_LEASE_MS / 4 - (Date.now() - killedAt),
    );
  });
});
