import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import { startFulcrum, type FulcrumProcess } from './processes.ts';
import { connectClient, type TestClient } from './support.ts';

// The "done when": `npm start` (one process, embedded database, built-in sandbox) and a socket.io
// client; the customer sees the order turn PAID when the sandbox's webhook lands.

describe('npm start: one process, the customer sees PAID over Socket.IO', () => {
  let proc: FulcrumProcess;
  let dataDir: string;
  let socket: TestClient | undefined;
  const adminEmail = 'admin@example.test';
  const adminPassword = `pw-${randomBytes(12).toString('hex')}`;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-all-'));
    proc = await startFulcrum('all', {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: 'memory://',
      SANDBOX_PORT: '0',
      FULCRUM_ADMIN_EMAIL: adminEmail,
      FULCRUM_ADMIN_PASSWORD: adminPassword,
    });
  });
  after(async () => {
    socket?.close();
    assert.equal(await proc?.stop(), 0, 'exits 0 on SIGTERM');
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('register, order, pay on the sandbox: order.updated PAID arrives on the socket', async () => {
    const app = { baseUrl: proc.url };
    const admin = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: adminEmail, password: adminPassword },
    });
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    const product = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.body.accessToken,
      body: { sku: 'ALL-1', name: 'Mug', price: { amount: 900, currency: 'usd' }, stock: 3 },
    });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const customer = await call(app, 'POST', '/api/v1/auth/register', {
      body: { email: 'c@example.test', password: 'a-long-enough-password', name: 'C' },
    });
    assert.equal(customer.status, 201, JSON.stringify(customer.body));
    const token = customer.body.accessToken as string;
    socket = await connectClient(proc.url, { token });

    const order = await call(app, 'POST', '/api/v1/orders', {
      token,
      headers: { 'idempotency-key': 'o-1' },
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const checkout = await call(app, 'POST', `/api/v1/orders/${order.body.id}/checkout`, {
      token,
      headers: { 'idempotency-key': 'c-1' },
      body: {},
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    const url = new URL(checkout.body.payment.checkoutUrl as string);
    const sessionId = url.pathname.split('/').at(-1)!;
    const paid = await fetch(`${url.origin}/_sandbox/checkout/sessions/${sessionId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ card: '4242424242424242' }),
    });
    assert.equal(paid.status, 200, await paid.text());

    await socket.waitFor(
      (r) => r.some((e) => e.name === 'order.updated' && e.data.status === 'PAID'),
      'order.updated PAID',
      20_000,
    );
    const paidEvent = socket.events().find((e) => e.data.status === 'PAID')!;
    assert.equal(paidEvent.data.orderId, order.body.id);
    assert.equal(paidEvent.data.paymentStatus, 'SUCCEEDED');
    // That each hop wakes the next rather than waiting for a poll is tested with every poll an hour away in
    // test/realtime/wake-ups.test.ts; how long it takes is measured by `npm run bench`.
  });
});
