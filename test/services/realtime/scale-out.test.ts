import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTokenService } from '../../../src/modules/auth/index.ts';
import { startSandbox, type Sandbox } from '../../../src/sandbox/index.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { call } from '../../helpers.ts';
import { startFulcrum, type FulcrumProcess } from '../../realtime/processes.ts';
import { connectClient, waitUntil, type TestClient } from '../../realtime/support.ts';
import { createServerDatabase, SERVICES, type ServerDatabase } from '../support.ts';

// Two API processes and a worker on the PostgreSQL server and Redis.
const REDIS_URL = SERVICES.redis;
const JWT_SECRET = `scale-out-${randomBytes(24).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;

describe('scale-out: two API processes and a worker, sharing rooms through Redis', () => {
  let db: ServerDatabase;
  let sandbox: Sandbox;
  let dataDir: string;
  let worker: FulcrumProcess;
  let a: FulcrumProcess;
  let b: FulcrumProcess;
  const clients: TestClient[] = [];
  const tokens = createTokenService(JWT_SECRET, systemClock);

  const newUser = async (role: 'customer' | 'admin') => {
    const id = `usr_${randomBytes(10).toString('hex')}`;
    await db.database.db
      .insertInto('users')
      .values({ id, email: `${id}@example.test`, name: id, password_hash: 'unusable', role })
      .execute();
    return { id, token: await tokens.issueAccessToken({ id, role }) };
  };
  const client = async (proc: FulcrumProcess, token: string) => {
    const c = await connectClient(proc.url, { token });
    clients.push(c);
    return c;
  };

  before(async () => {
    db = await createServerDatabase();
    sandbox = await startSandbox({ port: 0, webhookSecret: WEBHOOK_SECRET, retryDelaysMs: [100, 200, 400, 800] });
    dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-scale-'));
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      REDIS_URL,
      JWT_SECRET,
      SANDBOX_PORT: 'off',
      STRIPE_API_BASE: sandbox.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    [worker, a, b] = await Promise.all([
      startFulcrum('worker', env),
      startFulcrum('api', env),
      startFulcrum('api', env),
    ]);
    // The gateway's webhooks reach B only.
    sandbox.setWebhookEndpoint(`${b.url}/api/v1/webhooks/stripe`);
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all([worker, a, b].map((p) => p?.stop()));
    await sandbox?.close();
    await db?.drop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a client on A sees the order turn PAID, caused by the signed webhook that reached B', async () => {
    const admin = await newUser('admin');
    const customer = await newUser('customer');
    const stranger = await newUser('customer');
    const product = await call({ baseUrl: a.url }, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: {
        sku: `SCALE-${randomBytes(4).toString('hex')}`,
        name: 'Mug',
        price: { amount: 1250, currency: 'usd' },
        stock: 5,
      },
    });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const onA = await client(a, customer.token);
    const strangerOnA = await client(a, stranger.token);
    const strangerOnB = await client(b, stranger.token);

    const order = await call({ baseUrl: b.url }, 'POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'idempotency-key': randomBytes(8).toString('hex') },
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const orderId = order.body.id as string;
    const checkout = await call({ baseUrl: b.url }, 'POST', `/api/v1/orders/${orderId}/checkout`, {
      token: customer.token,
      headers: { 'idempotency-key': randomBytes(8).toString('hex') },
      body: {},
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    const sessionId = String(checkout.body.payment.checkoutUrl).split('/').at(-1)!;
    const paid = await fetch(`${sandbox.url}/_sandbox/checkout/sessions/${sessionId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ card: '4242424242424242' }),
    });
    assert.equal(paid.status, 200, await paid.text());

    await onA.waitFor(
      (r) => r.some((e) => e.name === 'order.updated' && e.data.orderId === orderId && e.data.status === 'PAID'),
      'order.updated PAID at the client on A',
      30_000,
    );
    const seen = onA.events().map((e) => `${e.name} ${String(e.data.status)}`);
    assert.equal(seen[0], 'order.updated CREATED');
    assert.ok(seen.includes('payment.updated SUCCEEDED'), seen.join(', '));
    const deliveries = await (await fetch(`${sandbox.url}/_sandbox/deliveries`)).json();
    assert.ok(JSON.stringify(deliveries).includes('checkout.session.completed'), 'the webhook went to B');
    const inbox = await db.database.db.selectFrom('webhook_inbox').select('status').execute();
    assert.ok(inbox.length > 0, 'B stored the webhook; the worker processed it');

    // The stranger's own event crosses the same path after the customer's: once it is in, theirs are past.
    const own = await call({ baseUrl: a.url }, 'POST', '/api/v1/orders', {
      token: stranger.token,
      headers: { 'idempotency-key': randomBytes(8).toString('hex') },
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(own.status, 201);
    for (const s of [strangerOnA, strangerOnB]) {
      await s.waitFor((r) => r.some((e) => e.data.orderId === own.body.id), 'the stranger’s own event', 30_000);
      assert.deepEqual(
        s.events().map((e) => e.data.orderId),
        [own.body.id],
        'nothing of the customer’s order reached the stranger',
      );
    }
  });

  it('SIGTERM on an API process closes its sockets and exits 0; the other node keeps serving', async () => {
    const customer = await newUser('customer');
    const onA = await client(a, customer.token);
    const onB = await client(b, customer.token);
    let reason = '';
    onA.socket.on('disconnect', (r) => (reason = r));
    assert.equal(await a.stop(), 0);
    await waitUntil(() => reason !== '', 'the socket on A to be closed');
    assert.equal(reason, 'transport close', 'closed so that the client reconnects, to another node');
    assert.equal(onB.socket.connected, true);
  });
});
