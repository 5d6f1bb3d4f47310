import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOutboxRelay, type OutboxRelay } from '../../../src/modules/realtime/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { call, createUser, startTestApp, type TestApp } from '../../helpers.ts';
import { createProduct, placeOrder, type TestProduct } from '../../shop.ts';
import { waitUntil } from '../../realtime/support.ts';
import { SERVICES } from '../support.ts';
import { waitInPage } from './support.ts';

/**
 * The storefront in a real browser: register, cart, order, checkout on the sandbox's hosted page, and
 * back at `/?order=…&checkout=success` the page says "Payment processing…" until the signed webhook,
 * processed by the worker, makes the order PAID and Socket.IO tells the page.
 */

const CHROMIUM = SERVICES.chromium;
const TIMEOUT = 20_000;

/** A port free right now: the app listens on it, so PUBLIC_URL (the success URL's base) is the app itself. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('browser: the storefront and the hosted checkout', () => {
  let app: TestApp;
  let relay: OutboxRelay;
  let browser: Browser;
  let product: TestProduct;
  const pageErrors: string[] = [];
  let paidOrderId = '';

  before(async () => {
    const port = await freePort();
    app = await startTestApp({
      env: { PORT: String(port) },
      sandbox: { retryDelaysMs: [50, 100, 200, 400] },
      payments: { worker: { pollMs: 50 } },
    });
    assert.equal(app.baseUrl, app.config.PUBLIC_URL, 'the success redirect comes back to this server');
    // As in production: the worker applies webhook events, the relay pushes the outbox to sockets.
    app.payments.start({ reconcileIntervalMs: 60_000 });
    relay = startOutboxRelay({
      database: app.database,
      logger: createLogger('silent'),
      clock: app.deps.clock,
      publishToSockets: (events) => app.built.realtime.publish(events),
      pollMs: 50,
    });
    const admin = await createUser(app, 'admin');
    product = await createProduct(app, admin.token, {
      name: 'Walnut desk lamp <b>',
      price: { amount: 4200, currency: 'usd' },
      stock: 20,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    await app?.built.realtime.close();
    await app?.close();
  });

  async function newShopper(): Promise<Page> {
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // The sandbox's own page answers a declined card with 402: only the shop's errors count.
      if (message.type() === 'error' && page.url().startsWith(app.baseUrl)) pageErrors.push(message.text());
    });
    return page;
  }

  async function latestOrderOf(email: string): Promise<string> {
    const row = await app.database.db
      .selectFrom('orders')
      .innerJoin('users', 'users.id', 'orders.user_id')
      .select('orders.id')
      .where('users.email', '=', email)
      .orderBy('orders.created_at', 'desc')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function registerAndOrder(page: Page, email: string): Promise<string> {
    await page.goto(`${app.baseUrl}/`);
    const form = page.locator('#register-form');
    await form.locator('input[name=name]').fill('Ada Shopper');
    await form.locator('input[name=email]').fill(email);
    await form.locator('input[name=password]').fill('correct horse battery');
    await form.locator('button[type=submit]').click();
    await page.locator('#whoami').filter({ hasText: email }).waitFor();

    // The product's name is text, not markup.
    const item = page.locator(`li.product[data-product-id="${product.id}"]`);
    await item.getByText('Walnut desk lamp <b>', { exact: true }).waitFor();
    await item.locator('input.qty').fill('2');
    await item.getByRole('button', { name: 'Add to cart' }).click();
    const cartQty = page.locator('#cart input.qty');
    await cartQty.waitFor();
    assert.equal(await cartQty.inputValue(), '2');
    await cartQty.fill('3');
    await cartQty.dispatchEvent('change');
    await page.locator('#cart-total').filter({ hasText: '$126.00' }).waitFor();

    // The shipping address goes with the order, and "Place order and pay" leads straight to the payment page.
    const address = page.locator('#address');
    await address.getByLabel('Full name').fill('Ada Shopper');
    await address.getByLabel('Address', { exact: true }).fill('1 Analytical Way');
    await address.getByLabel('Postal code').fill('10115');
    await address.getByLabel('City').fill('Berlin');
    await address.getByLabel('Country').selectOption('DE');
    await page.locator('#place-order').click();
    await page.waitForURL(`${app.sandbox!.url}/checkout/**`);
    await page.locator('#total').filter({ hasText: '$126.00' }).waitFor();
    const orderId = await latestOrderOf(email);
    assert.ok(orderId.startsWith('ord_'));
    const placed = await app.database.db
      .selectFrom('orders')
      .select('shipping_address')
      .where('id', '=', orderId)
      .executeTakeFirstOrThrow();
    assert.deepEqual(placed.shipping_address, {
      name: 'Ada Shopper',
      line1: '1 Analytical Way',
      city: 'Berlin',
      postalCode: '10115',
      country: 'DE',
    });
    return orderId;
  }

  it('register, cart, order, pay 4242 on the hosted page: back on the shop, processing turns PAID live', async () => {
    const page = await newShopper();
    const orderId = await registerAndOrder(page, `ada-${Date.now()}@example.test`);

    // Hold the webhook back: the page must show "processing" after the redirect, before any event.
    await fetch(`${app.sandbox!.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ delayMs: 60_000 }),
    });
    await page.locator('#card').fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page.waitForURL(`${app.baseUrl}/?order=${orderId}&checkout=success*`);
    const status = page.locator('#return-status');
    await status.filter({ hasText: 'Payment processing…' }).waitFor();
    await page.locator('#live').filter({ hasText: 'connected' }).waitFor();
    const unpaid = await call(app, 'GET', `/api/v1/orders/${orderId}`, {
      token: (await page.evaluate(() => JSON.parse(sessionStorage.getItem('fulcrum.shop')!).accessToken)) as string,
    });
    assert.equal(unpaid.body.status, 'CREATED', 'the redirect alone pays nothing');
    await page.screenshot({ path: '/tmp/storefront-processing.png', fullPage: true });

    // Now the signed webhook arrives; the worker applies it; the socket tells the page.
    await fetch(`${app.sandbox!.url}/_sandbox/faults`, { method: 'DELETE' });
    await fetch(`${app.sandbox!.url}/_sandbox/webhooks/flush`, { method: 'POST' });
    await status.filter({ hasText: 'Payment received — order PAID' }).waitFor({ timeout: TIMEOUT });
    await page
      .locator(`#orders tr[data-order-id="${orderId}"] .status`)
      .filter({ hasText: 'PAID' })
      .waitFor({ timeout: TIMEOUT });
    await page.screenshot({ path: '/tmp/storefront-paid.png', fullPage: true });
    paidOrderId = orderId;
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('a declined card: the hosted page says so, and the shop shows the order unpaid', async () => {
    const page = await newShopper();
    const orderId = await registerAndOrder(page, `bob-${Date.now()}@example.test`);
    await page.locator('#card').fill('4000 0000 0000 0002');
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /declined/i })
      .waitFor();
    assert.ok(page.url().startsWith(`${app.sandbox!.url}/checkout/`), 'no redirect to the shop');
    await page.screenshot({ path: '/tmp/storefront-declined.png', fullPage: true });

    // The customer gives up and goes back to the shop.
    await page.getByRole('link', { name: /Cancel and return/ }).click();
    await page.waitForURL(`${app.baseUrl}/?order=${orderId}*`);
    await page
      .locator('#return-status')
      .filter({ hasText: /— not paid|Payment not completed/ })
      .waitFor();
    const row = page.locator(`#orders tr[data-order-id="${orderId}"]`);
    await row.waitFor();
    // The list and the return panel say the same thing (the page once said "Checkout cancelled" above and
    // "Payment processing…" in the list).
    // Each render writes both at once; wait (bounded) for the one that follows the last read of the order.
    const rowStatus = JSON.stringify(`#orders tr[data-order-id="${orderId}"] .status`);
    const bothSayNotPaid = `(() => {
      const listed = document.querySelector(${rowStatus})?.textContent;
      const panel = document.querySelector('#return-status')?.textContent;
      return listed != null && listed === panel && /— not paid|Payment not completed/.test(panel);
    })()`;
    const agree = await waitInPage(page, bothSayNotPaid, 10_000)
      .then(() => true)
      .catch(() => false);
    assert.ok(
      agree,
      `list "${await row.locator('.status').textContent()}" vs panel "${await page.locator('#return-status').textContent()}"`,
    );
    assert.notEqual(await row.locator('.status').textContent(), 'PAID');

    // Whatever the decline caused has reached the page once a later event has: every webhook delivered and
    // applied, the outbox sent, then a new order of this customer's, whose event the page shows after theirs.
    await fetch(`${app.sandbox!.url}/_sandbox/webhooks/flush`, { method: 'POST' });
    await waitUntil(async () => {
      const pending = await app.database.db
        .selectFrom('webhook_inbox')
        .select('id')
        .where('status', '=', 'pending')
        .execute();
      return pending.length === 0;
    }, 'the webhooks applied');
    await relay.drain();
    const token = (await page.evaluate(
      () => JSON.parse(sessionStorage.getItem('fulcrum.shop')!).accessToken,
    )) as string;
    const later = await placeOrder(app, token, { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(later.status, 201);
    await page.locator(`#orders tr[data-order-id="${(later.body as { id: string }).id}"]`).waitFor();
    assert.notEqual(await row.locator('.status').textContent(), 'PAID');
    assert.match((await page.locator('#return-status').textContent()) ?? '', /not|cancelled/i);
    const order = await call(app, 'GET', `/api/v1/orders/${orderId}`, { token });
    assert.equal(order.body.status, 'CREATED');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('the admin dashboard: log in, filter PAID orders, ship and deliver one', async () => {
    assert.ok(paidOrderId, 'the happy path ran first');
    const email = `staff-${Date.now()}@example.test`;
    const password = 'staff password 1234';
    const registered = await call(app, 'POST', '/api/v1/auth/register', { body: { email, password, name: 'Staff' } });
    assert.equal(registered.status, 201);
    await app.database.db.updateTable('users').set({ role: 'admin' }).where('email', '=', email).execute();

    const page = await newShopper();
    await page.goto(`${app.baseUrl}/admin`);
    await page.locator('#login-form input[name=email]').fill(email);
    await page.locator('#login-form input[name=password]').fill(password);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#whoami').filter({ hasText: '(admin)' }).waitFor();
    await page.locator('#order-status').selectOption('PAID');
    // The filtered list replaces the rows when it arrives: act on the rows it shows, not on the ones before.
    await page.locator('#orders:not([aria-busy])').waitFor({ state: 'attached' });
    const row = page.locator(`#orders tr[data-order-id="${paidOrderId}"]`);
    await row.locator('.status').filter({ hasText: 'PAID' }).waitFor();
    await row.getByLabel('Carrier').fill('UPS');
    await row.getByLabel('Tracking number').fill('1Z999<script>');
    await row.getByRole('button', { name: 'Ship' }).click();
    await row.locator('.status').filter({ hasText: 'SHIPPED' }).waitFor();
    await row.getByText('UPS 1Z999<script>').waitFor();
    await row.getByRole('button', { name: 'Mark delivered' }).click();
    await row.locator('.status').filter({ hasText: 'DELIVERED' }).waitFor();

    // An API error is shown as its problem detail.
    await page.locator('[data-tab=products]').click();
    const form = page.locator('#product-form');
    await form.locator('input[name=sku]').fill(product.sku);
    await form.locator('input[name=name]').fill('Duplicate');
    await form.locator('input[name=amount]').fill('100');
    await form.locator('input[name=stock]').fill('1');
    await form.locator('button[type=submit]').click();
    await page.locator('#notice.error').waitFor();
    await page.locator(`#products tr[data-product-id="${product.id}"]`).waitFor();
    await page.screenshot({ path: '/tmp/admin-products.png', fullPage: true });
    assert.deepEqual(
      pageErrors.filter((e) => !e.includes('409')),
      [],
    );
    await page.close();
  });

  it('the admin dashboard: a flagged payment is listed with why, and its money refunded from there', async () => {
    const errorsBefore = pageErrors.length;
    // Money that does not match its order: the order (and payment) are moved to more than the session asks.
    const customer = await createUser(app);
    const placed = await placeOrder(app, customer.token, { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(placed.status, 201);
    const orderId = (placed.body as { id: string }).id;
    const checkout = await call(app, 'POST', `/api/v1/orders/${orderId}/checkout`, {
      token: customer.token,
      headers: { 'idempotency-key': `flag-${orderId}` },
      body: {},
    });
    assert.equal(checkout.status, 201);
    const { id: paymentId, checkoutUrl } = checkout.body.payment as { id: string; checkoutUrl: string };
    await app.database.db.updateTable('orders').set({ total_amount: 5000 }).where('id', '=', orderId).execute();
    await app.database.db.updateTable('payments').set({ amount: 5000 }).where('id', '=', paymentId).execute();
    const paid = await fetch(`${app.sandbox!.url}/_sandbox/checkout/sessions/${checkoutUrl.split('/').pop()!}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(paid.status, 200);

    const email = `flag-admin-${Date.now()}@example.test`;
    const password = 'staff password 1234';
    assert.equal(
      (await call(app, 'POST', '/api/v1/auth/register', { body: { email, password, name: 'Admin' } })).status,
      201,
    );
    await app.database.db.updateTable('users').set({ role: 'admin' }).where('email', '=', email).execute();
    const page = await newShopper();
    await page.goto(`${app.baseUrl}/admin`);
    await page.locator('#login-form input[name=email]').fill(email);
    await page.locator('#login-form input[name=password]').fill(password);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#whoami').filter({ hasText: '(admin)' }).waitFor();
    // The webhook may still be on its way: the list is read once the worker has flagged the payment.
    await waitUntil(async () => {
      const flagged = await app.database.db
        .selectFrom('payments')
        .select('flagged_reason')
        .where('id', '=', paymentId)
        .executeTakeFirstOrThrow();
      return flagged.flagged_reason !== null;
    }, 'the worker to flag the payment');
    await page.locator('[data-tab=payments]').click();
    const row = page.locator(`#payments tr[data-payment-id="${paymentId}"]`);
    await row.getByText('expected 5000 usd').waitFor();
    await row.getByRole('button', { name: 'Refund money' }).click();
    await page.locator('#notice').filter({ hasText: 'being refunded' }).waitFor();
    await row.waitFor({ state: 'detached' });

    const payment = await call(app, 'GET', `/api/v1/payments/${paymentId}`, { token: customer.token });
    assert.equal(payment.body.status, 'CANCELED');
    const refunds = await app.database.db
      .selectFrom('refunds')
      .select(['amount', 'initiated_by'])
      .where('payment_id', '=', paymentId)
      .execute();
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0]!.amount, 4200);
    assert.match(refunds[0]!.initiated_by, /^usr_/, 'the admin who refunded');
    assert.deepEqual(pageErrors.slice(errorsBefore), []);
    await page.close();
  });

  it('serves /admin, the Socket.IO client, and keeps JSON 404s under /api', async () => {
    const admin = await fetch(`${app.baseUrl}/admin`);
    assert.equal(admin.status, 200);
    assert.match(admin.headers.get('content-type') ?? '', /text\/html/);
    assert.match(admin.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const client = await fetch(`${app.baseUrl}/socket.io/socket.io.js`);
    assert.equal(client.status, 200);
    const missing = await fetch(`${app.baseUrl}/api/v1/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(((await missing.json()) as { code: string }).code, 'not_found');
  });
});
