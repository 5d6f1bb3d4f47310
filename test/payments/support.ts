import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { Database } from '../../src/db/database.ts';
import type { Clock } from '../../src/shared/clock.ts';
import {
  call,
  countingDatabase,
  createTestDatabase,
  createUser,
  startTestApp,
  type Counted,
  type JsonResponse,
  type TestApp,
  type TestAppOptions,
} from '../helpers.ts';
import { createProduct, placeOrder, type TestProduct } from '../shop.ts';

/** Real time plus an offset the test moves forward; the app, its tokens and the sandbox share it. */
export function offsetClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(ms: number) {
      offset += ms;
    },
  };
}

/** How long the sandbox takes to settle an asynchronous payment or fail a refund, in clock time. */
export const ASYNC_DELAY_MS = 60_000;

export interface User {
  id: string;
  token: string;
}

export interface Shop {
  app: TestApp;
  clock: ReturnType<typeof offsetClock>;
  sandbox: NonNullable<TestApp['sandbox']>;
  stripe: Stripe;
  admin: User;
  support: User;
  customer: User;
  product: TestProduct;
  close(): Promise<void>;
}

/**
 * One app per test file: sandbox, an admin, a support agent, a customer and a product. Asynchronous
 * payments (and failing refunds) settle a minute after, on the shared clock: a test moves it to let them.
 */
export async function startShop(options: Omit<TestAppOptions, 'clock'> = {}): Promise<Shop> {
  const clock = offsetClock();
  const sandbox = typeof options.sandbox === 'object' ? options.sandbox : {};
  const app = await startTestApp({ ...options, clock, sandbox: { asyncPaymentDelayMs: ASYNC_DELAY_MS, ...sandbox } });
  const admin = await createUser(app, 'admin');
  const support = await createUser(app, 'support');
  const customer = await createUser(app, 'customer');
  const product = await createProduct(app, admin.token, { price: { amount: 1250, currency: 'usd' }, stock: 10_000 });
  return {
    app,
    clock,
    sandbox: app.sandbox!,
    stripe: app.stripe!,
    admin,
    support,
    customer,
    product,
    close: () => app.close(),
  };
}

/** A CREATED order of `quantity` units (default 2 → 2500 usd) for the customer (or `user`). */
/**
 * A shop on a database of its own whose statements and transactions are counted (countingDatabase); the sandbox
 * retries a webhook only after a minute, so each test drains the inbox itself. `close` stops the shop and drops the
 * database.
 */
export async function startCountingShop(): Promise<{
  shop: Shop;
  counted: Counted;
  /** The same database, not counted: what a test reads for itself. */
  raw: Database;
  close: () => Promise<void>;
}> {
  const test = await createTestDatabase();
  const counting = countingDatabase(test.database);
  const shop = await startShop({ database: counting.database, sandbox: { retryDelaysMs: [60_000] } });
  return {
    shop,
    counted: counting.counted,
    raw: test.database,
    close: async () => {
      await shop.close();
      await test.drop();
    },
  };
}

export async function newOrder(shop: Shop, user: User = shop.customer, quantity = 2): Promise<{ id: string }> {
  const res = await placeOrder(shop.app, user.token, { items: [{ productId: shop.product.id, quantity }] });
  if (res.status !== 201) throw new Error(`order: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

export function checkout(
  shop: Shop,
  orderId: string,
  user: User = shop.customer,
  body: unknown = {},
  key: string = randomUUID(),
): Promise<JsonResponse> {
  return call(shop.app, 'POST', `/api/v1/orders/${orderId}/checkout`, {
    token: user.token,
    body,
    headers: { 'idempotency-key': key },
  });
}

/** Checkout that must succeed: the payment, with its session id. */
export async function startPayment(
  shop: Shop,
  orderId: string,
  user: User = shop.customer,
): Promise<{ id: string; sessionId: string; checkoutUrl: string }> {
  const res = await checkout(shop, orderId, user);
  if (res.status !== 201) throw new Error(`checkout: ${res.status} ${JSON.stringify(res.body)}`);
  const row = await paymentRow(shop, res.body.payment.id as string);
  return { id: row.id, sessionId: row.gateway_session_id!, checkoutUrl: res.body.payment.checkoutUrl as string };
}

export async function sandboxControl(shop: Shop, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${shop.sandbox.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json();
}

/** What the hosted page's Pay button does. */
export function pay(shop: Shop, sessionId: string, card = '4242424242424242'): Promise<unknown> {
  return sandboxControl(shop, 'POST', `/_sandbox/checkout/sessions/${sessionId}/pay`, { card });
}

export const setFaults = (shop: Shop, faults: Record<string, unknown>) =>
  sandboxControl(shop, 'POST', '/_sandbox/faults', faults);
export const clearFaults = (shop: Shop) => sandboxControl(shop, 'DELETE', '/_sandbox/faults');

/** Every webhook the sandbox holds is delivered now (answers in hand). */
export async function flushWebhooks(shop: Shop): Promise<void> {
  await sandboxControl(shop, 'POST', '/_sandbox/webhooks/flush');
}

/** Processes the inbox until nothing is due. */
export async function drainInbox(shop: Shop): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await shop.app.payments.inbox.processInboxOnce();
    total += n;
    if (n === 0) return total;
  }
}

/** Deliver what the sandbox holds, then apply it. */
export async function settle(shop: Shop): Promise<void> {
  await flushWebhooks(shop);
  await drainInbox(shop);
}

export async function getOrder(shop: Shop, orderId: string, user: User = shop.customer): Promise<JsonResponse> {
  return call(shop.app, 'GET', `/api/v1/orders/${orderId}`, { token: user.token });
}

export async function paymentRow(shop: Shop, paymentId: string) {
  return shop.app.database.db.selectFrom('payments').selectAll().where('id', '=', paymentId).executeTakeFirstOrThrow();
}

export async function paymentsOf(shop: Shop, orderId: string) {
  return shop.app.database.db.selectFrom('payments').selectAll().where('order_id', '=', orderId).execute();
}

export async function orderEvents(shop: Shop, orderId: string) {
  return shop.app.database.db
    .selectFrom('order_events')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('seq')
    .execute();
}

/** Outbox messages about an order (order.updated and payment.updated), oldest first. */
export async function outboxFor(shop: Shop, orderId: string): Promise<{ type: string; status: string }[]> {
  const rows = await shop.app.database.db.selectFrom('outbox').selectAll().orderBy('id').execute();
  return rows
    .map((r) => ({ type: r.type, payload: r.payload as { orderId: string; status: string } }))
    .filter((r) => r.payload.orderId === orderId)
    .map((r) => ({ type: r.type, status: r.payload.status }));
}

export async function inboxRows(shop: Shop) {
  return shop.app.database.db.selectFrom('webhook_inbox').selectAll().orderBy('received_at').execute();
}

/** Posts `event` to the app's webhook route signed as the sandbox would (or with `signature`). */
export async function postEvent(
  shop: Shop,
  event: Record<string, unknown>,
  options: { signature?: string; timestamp?: number } = {},
): Promise<JsonResponse> {
  const payload = JSON.stringify(event);
  const signature =
    options.signature ??
    shop.stripe.webhooks.generateTestHeaderString({
      payload,
      secret: shop.sandbox.webhookSecret,
      timestamp: options.timestamp ?? Math.floor(shop.clock.now().getTime() / 1000),
    });
  return call(shop.app, 'POST', '/api/v1/webhooks/stripe', {
    rawBody: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
  });
}

/** A Stripe-shaped event around `object` (tests forge events the sandbox would not send). */
export function stripeEvent(type: string, object: Record<string, unknown>): Record<string, unknown> {
  return {
    id: `evt_test_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** Polls `check` until it returns a value; the bound only stops a broken test. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the gateway has emitted an event of `type` about `objectId` (async payments settle on a timer). */
export async function waitForEvent(shop: Shop, type: string, objectId: string): Promise<Stripe.Event> {
  return waitFor(`${type} for ${objectId}`, async () => {
    const list = await shop.stripe.events.list({ type, limit: 100 });
    return list.data.find((e) => (e.data.object as { id?: string }).id === objectId);
  });
}
