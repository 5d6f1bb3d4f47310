import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.ts';
import { createPaymentsRuntime, type Providers } from '../../src/modules/payments/index.ts';
import { newId } from '../../src/shared/ids.ts';
import { call } from '../helpers.ts';
import {
  clearFaults,
  drainInbox,
  flushWebhooks,
  getOrder,
  inboxRows,
  newOrder,
  outboxFor,
  pay,
  paymentRow,
  setFaults,
  startPayment,
  startShop,
  type Shop,
} from './support.ts';

const AFTER_S = 5;

describe('payments: reconciliation', () => {
  let shop: Shop;
  /** Off: the gateway's event log looks empty, so only looking payments up can find the truth. */
  let eventLog = true;
  const toggleLog = (providers: Providers): Providers => ({
    ...providers,
    stripe: {
      ...providers.stripe!,
      listEvents: (cursor, since) =>
        eventLog ? providers.stripe!.listEvents!(cursor, since) : Promise.resolve({ events: [], cursor }),
    },
  });
  before(async () => {
    shop = await startShop({
      env: { RECONCILE_AFTER_SECONDS: String(AFTER_S) },
      payments: { wrapProviders: toggleLog },
    });
  });
  after(() => shop.close());

  const dropWebhooks = () => setFaults(shop, { dropRate: 1 });
  const older = () => shop.clock.advance(AFTER_S * 1000 + 1_000);

  it('a webhook dropped at the sandbox: the event log since the saved cursor brings it in, and the order is paid', async () => {
    await shop.app.payments.reconcileOnce(); // sets the cursor
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await dropWebhooks();
    try {
      await pay(shop, payment.sessionId);
      await flushWebhooks(shop);
    } finally {
      await clearFaults(shop);
    }
    await drainInbox(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'CREATED', 'nothing arrived');
    const report = await shop.app.payments.reconcileOnce();
    assert.ok(report !== null && report.events >= 2, `events fed: ${report?.events}`);
    await drainInbox(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    const cursor = await shop.app.database.db
      .selectFrom('job_state')
      .select('value')
      .where('key', '=', 'payments.stripe.events_cursor')
      .executeTakeFirstOrThrow();
    assert.match((cursor.value as { cursor: string }).cursor, /^evt_/);
    assert.equal((await shop.app.payments.reconcileOnce())?.events, 0, 'only what is new since the cursor');
    const rows = await inboxRows(shop);
    assert.equal(new Set(rows.map((r) => r.event_id)).size, rows.length);
  });

  it('a saved cursor the gateway no longer knows: the event log is read again from the time window', async () => {
    const cursorRow = () =>
      shop.app.database.db
        .selectFrom('job_state')
        .select('value')
        .where('key', '=', 'payments.stripe.events_cursor')
        .executeTakeFirstOrThrow();
    await shop.app.payments.reconcileOnce();
    await shop.app.database.db
      .updateTable('job_state')
      .set({ value: JSON.stringify({ cursor: 'evt_forgotten_by_the_gateway' }) })
      .where('key', '=', 'payments.stripe.events_cursor')
      .execute();
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await dropWebhooks();
    try {
      await pay(shop, payment.sessionId);
      await flushWebhooks(shop);
    } finally {
      await clearFaults(shop);
    }
    const report = await shop.app.payments.reconcileOnce();
    assert.ok(report !== null && report.events >= 2, `events fed: ${report?.events}`);
    await drainInbox(shop);
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
    const saved = (await cursorRow()).value as { cursor: string };
    assert.match(saved.cursor, /^evt_/);
    assert.notEqual(saved.cursor, 'evt_forgotten_by_the_gateway', 'a cursor the gateway knows replaces it');
    assert.equal((await shop.app.payments.reconcileOnce())?.events, 0, 'and reading goes on from there');
  });

  it('a dropped webhook and no event log: the PENDING payment is looked up once old enough, and paid', async () => {
    eventLog = false;
    try {
      const order = await newOrder(shop);
      const payment = await startPayment(shop, order.id);
      await dropWebhooks();
      try {
        await pay(shop, payment.sessionId);
      } finally {
        await clearFaults(shop);
      }
      await shop.app.payments.reconcileOnce();
      assert.equal((await paymentRow(shop, payment.id)).status, 'PENDING', 'too young to be looked up');
      older();
      await shop.app.payments.reconcileOnce();
      assert.equal((await paymentRow(shop, payment.id)).status, 'SUCCEEDED');
      assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
      const messages = await outboxFor(shop, order.id);
      assert.equal(messages.filter((m) => m.type === 'order.updated' && m.status === 'PAID').length, 1);
    } finally {
      eventLog = true;
    }
  });

  async function sessionlessPayment(orderId: string, sessionExpiresInMs: number): Promise<string> {
    const now = shop.clock.now();
    const id = newId('pay');
    await shop.app.database.db
      .insertInto('payments')
      .values({
        id,
        order_id: orderId,
        user_id: shop.customer.id,
        provider: 'stripe',
        status: 'PENDING',
        amount: 2500,
        currency: 'usd',
        session_expires_at: new Date(now.getTime() + sessionExpiresInMs),
        created_at: now,
        updated_at: now,
      })
      .execute();
    return id;
  }

  it('a crash between the phases: a payment without a session is completed, failed or cancelled', async () => {
    const payable = await newOrder(shop);
    const completes = await sessionlessPayment(payable.id, 31 * 60_000);
    const tooLate = await newOrder(shop);
    const fails = await sessionlessPayment(tooLate.id, 60_000); // the gateway refuses a session this short
    const gone = await newOrder(shop);
    await call(shop.app, 'POST', `/api/v1/orders/${gone.id}/cancel`, { token: shop.customer.token, body: {} });
    const cancels = await sessionlessPayment(gone.id, 31 * 60_000);
    older();
    await shop.app.payments.reconcileOnce();

    const completed = await paymentRow(shop, completes);
    assert.equal(completed.status, 'PENDING');
    assert.ok(completed.gateway_session_id !== null && completed.checkout_url !== null, 'the checkout was opened');
    const view = (await getOrder(shop, payable.id)).body;
    assert.equal(view.payment.checkoutUrl, completed.checkout_url);
    await pay(shop, completed.gateway_session_id);
    await flushWebhooks(shop);
    await drainInbox(shop);
    assert.equal((await getOrder(shop, payable.id)).body.status, 'PAID');

    const failed = await paymentRow(shop, fails);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.failure_reason, 'checkout could not be created');
    const cancelled = await paymentRow(shop, cancels);
    assert.equal(cancelled.status, 'CANCELED');
  });

  it('closes at the gateway the open checkout of an order cancelled meanwhile', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await call(shop.app, 'POST', `/api/v1/orders/${order.id}/cancel`, { token: shop.customer.token, body: {} });
    older();
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, payment.id)).status, 'CANCELED');
    assert.equal((await shop.stripe.checkout.sessions.retrieve(payment.sessionId)).status, 'expired');
  });

  it('runs on one node at a time', async () => {
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    const other = createPaymentsRuntime({
      db: shop.app.database.db,
      clock: shop.clock,
      logger: createLogger('silent'),
      config: shop.app.config,
      stripe: shop.stripe,
      webhookSecret: shop.sandbox.webhookSecret,
      wrapProviders: (providers) => ({
        ...providers,
        stripe: {
          ...providers.stripe!,
          listEvents: async (cursor, since) => {
            entered();
            await gate;
            return providers.stripe!.listEvents!(cursor, since);
          },
        },
      }),
    });
    const running = other.reconcileOnce();
    await inside;
    assert.equal(await shop.app.payments.reconcileOnce(), null, 'the other node holds it');
    release();
    assert.ok((await running) !== null);
    assert.ok((await shop.app.payments.reconcileOnce()) !== null, 'free again');
  });
});
