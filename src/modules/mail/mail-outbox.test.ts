import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import {
  call,
  countingDatabase,
  CountStatements,
  createUser,
  startTestApp,
  type TestApp,
} from '../../../test/helpers.ts';
import { createProduct, placeOrder } from '../../../test/shop.ts';
import { appendOutbox } from '../../db/outbox.ts';
import { createLogger } from '../../observability/logger.ts';
import { systemClock } from '../../shared/clock.ts';
import { register, uniqueEmail } from '../auth/test-helpers.ts';
import { createMailQueue, keptTransport, mailFromOutbox, type MailWorkerDeps } from './index.ts';

// docs/api.md § Mail: the worker makes the mails of domain events from the outbox, one per event.
describe('mail from the outbox', () => {
  let app: TestApp;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let deps: MailWorkerDeps;
  before(async () => {
    app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0', SHOP_NAME: 'Hat Shop' } });
    admin = await createUser(app, 'admin');
    deps = {
      db: app.database.db,
      clock: systemClock,
      logger: createLogger('silent'),
      queue: createMailQueue({ name: 'Hat Shop', url: 'https://hats.example' }),
      transport: keptTransport,
      from: 'Hat Shop <shop@hats.example>',
    };
  });
  after(() => app.close());

  const mailsOf = (to: string) =>
    app.database.db.selectFrom('mails').selectAll().where('to_address', '=', to).orderBy('created_at').execute();
  const drain = async () => {
    while ((await mailFromOutbox(deps)) > 0) continue;
  };
  const orderMailKeys = async (to: string) =>
    (await mailsOf(to)).map((m) => m.event_key).filter((key) => key.startsWith('order.'));
  const unmailedRows = async () =>
    (
      await app.database.db.selectFrom('outbox').select('id').where('mailed_at', 'is', null).orderBy('id').execute()
    ).map((r) => Number(r.id));
  const customerWithOrder = async (quantity = 2) => {
    const customer = await register(app, { email: uniqueEmail('buyer'), name: 'Bo <b>Buyer</b>' });
    const product = await createProduct(app, admin.token, {
      name: 'Felt & Hat',
      price: { amount: 1250, currency: 'usd' },
    });
    const order = await placeOrder(app, customer.accessToken, { items: [{ productId: product.id, quantity }] });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    return { customer, orderId: order.body.order?.id ?? order.body.id };
  };
  const payManually = async (token: string, orderId: string) => {
    const checkout = await call(app, 'POST', `/api/v1/orders/${orderId}/checkout`, {
      token,
      body: { provider: 'manual' },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    const paymentId = checkout.body.payment.id as string;
    const confirmed = await call(app, 'POST', `/api/v1/admin/payments/${paymentId}/confirm`, { token: admin.token });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    return paymentId;
  };

  it('order placed, paid (a receipt), shipped, refunded: one mail each, text and HTML, from the templates', async () => {
    const { customer, orderId } = await customerWithOrder();
    await drain();
    const placed = (await mailsOf(customer.user.email)).filter((m) => m.event_key.startsWith('order.'));
    assert.deepEqual(
      placed.map((m) => m.event_key),
      [`order.placed:${orderId}`],
    );
    assert.equal(placed[0]!.subject, `Your Hat Shop order ${orderId}`);
    assert.match(placed[0]!.text_body, /2 × Felt & Hat \(T-[^)]+\) at \$12\.50: \$25\.00/);
    assert.match(placed[0]!.text_body, /Total: \$25\.00/);
    assert.match(placed[0]!.html_body, /Felt &amp; Hat/);
    assert.match(placed[0]!.html_body, /Bo &lt;b&gt;Buyer&lt;\/b&gt;/, 'values are escaped in HTML');
    assert.match(placed[0]!.html_body, /href="https:\/\/hats\.example\/"/);

    const paymentId = await payManually(customer.accessToken, orderId);
    const ship = await call(app, 'POST', `/api/v1/admin/orders/${orderId}/ship`, {
      token: admin.token,
      body: { carrier: 'DHL', trackingNumber: 'JD0001' },
    });
    assert.equal(ship.status, 200, JSON.stringify(ship.body));
    const refund = await call(app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
      token: admin.token,
      body: { amount: 500 },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    await drain();

    const mails = (await mailsOf(customer.user.email)).filter((m) => !m.event_key.startsWith('verify_email:'));
    assert.deepEqual(
      mails.map((m) => m.event_key),
      [
        `order.placed:${orderId}`,
        `order.paid:${orderId}`,
        `order.shipped:${orderId}`,
        `refund.succeeded:${refund.body.refund.id}`,
      ],
    );
    const [, paid, shipped, refunded] = mails;
    assert.equal(paid!.subject, `Receipt for your Hat Shop order ${orderId}`);
    assert.match(paid!.text_body, /Total: \$25\.00/);
    assert.match(paid!.text_body, new RegExp(`Paid: \\$25\\.00 on .+ UTC \\(payment ${paymentId}, manual\\)`));
    assert.match(shipped!.text_body, /Carrier: DHL\nTracking number: JD0001/);
    assert.match(refunded!.text_body, /We refunded \$5\.00 of your payment/);
    assert.match(refunded!.text_body, /In all, \$5\.00 of \$25\.00 is refunded/);
    for (const mail of mails) {
      assert.equal(mail.status, 'pending');
      assert.ok(mail.html_body.startsWith('<!doctype html>'));
    }
  });

  it('every partial refund is told: a second and third refund each make a payment.updated event and a mail', async () => {
    const { customer, orderId } = await customerWithOrder();
    const paymentId = await payManually(customer.accessToken, orderId);
    const refundIds: string[] = [];
    for (const amount of [300, 200, 100]) {
      const refund = await call(app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
        token: admin.token,
        body: { amount },
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(refund.status, 201, JSON.stringify(refund.body));
      refundIds.push(refund.body.refund.id);
    }
    const told = await app.database.db
      .selectFrom('outbox')
      .select('payload')
      .where('type', '=', 'payment.updated')
      .orderBy('id')
      .execute();
    const refundNews = told
      .map((row) => row.payload as { paymentId?: unknown; status?: unknown })
      .filter((payload) => payload.paymentId === paymentId && /REFUNDED/.test(String(payload.status)));
    assert.equal(refundNews.length, 3, `one payment.updated per refund: ${JSON.stringify(told)}`);
    await drain();
    const mails = (await mailsOf(customer.user.email)).filter((m) => m.event_key.startsWith('refund.'));
    assert.deepEqual(
      mails.map((m) => m.event_key),
      refundIds.map((id) => `refund.succeeded:${id}`),
    );
    assert.match(mails[2]!.text_body, /We refunded \$1\.00 of your payment/);
    assert.match(mails[2]!.text_body, /In all, \$6\.00 of \$25\.00 is refunded/);
  });

  it('a cancelled order gets one mail; an event seen again, or twice, makes no second mail', async () => {
    const { customer, orderId } = await customerWithOrder(1);
    const cancel = await call(app, 'POST', `/api/v1/orders/${orderId}/cancel`, {
      token: customer.accessToken,
      body: {},
    });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    await drain();
    // The same facts told again (a redelivered event): nothing new.
    await app.database.db.transaction().execute(async (trx) => {
      for (const status of ['CREATED', 'CANCELLED']) {
        const payload = { orderId, status, paymentStatus: null, at: new Date().toISOString() };
        await appendOutbox(trx, { userId: customer.user.id, type: 'order.updated', payload });
      }
    });
    await drain();
    const mails = (await mailsOf(customer.user.email)).filter((m) => m.event_key.startsWith('order.'));
    assert.deepEqual(
      mails.map((m) => m.event_key),
      [`order.placed:${orderId}`, `order.closed:${orderId}`],
    );
    assert.match(mails[1]!.subject, /is cancelled$/);
    const unread = await app.database.db.selectFrom('outbox').select('id').where('mailed_at', 'is', null).execute();
    assert.deepEqual(unread, [], 'every outbox row read once');
  });

  it('three passes at once make each mail once and leave no row unread', async () => {
    const { customer, orderId } = await customerWithOrder(1);
    await Promise.all([drain(), drain(), drain()]);
    const mails = (await mailsOf(customer.user.email)).filter((m) => m.event_key.startsWith('order.'));
    assert.deepEqual(
      mails.map((m) => m.event_key),
      [`order.placed:${orderId}`],
    );
    assert.deepEqual(await unmailedRows(), []);
  });

  it('a pass opens no transaction: its reads and its one write each stand alone', async () => {
    const { customer, orderId } = await customerWithOrder(1);
    const { database, counted } = countingDatabase(app.database);
    counted.reset();
    assert.ok((await mailFromOutbox({ ...deps, db: database.db })) >= 1);
    assert.equal(counted.transactions, 0);
    assert.ok(counted.statements >= 2, `${counted.statements} statements`);
    assert.deepEqual(await orderMailKeys(customer.user.email), [`order.placed:${orderId}`]);
  });

  it('a batch whose mails cannot be written leaves its rows unread, and a later pass makes them', async () => {
    await drain();
    const { customer, orderId } = await customerWithOrder(1);
    const db = app.database.db;
    await sql`create function fulcrum_test_refuse_mail() returns trigger language plpgsql as $$
      begin raise exception 'mail refused by the test'; end $$`.execute(db);
    await sql`create trigger fulcrum_test_refuse_mail before insert on mails
      for each row execute function fulcrum_test_refuse_mail()`.execute(db);
    try {
      const unread = await unmailedRows();
      assert.ok(unread.length >= 1);
      await assert.rejects(mailFromOutbox(deps), /mail refused by the test/);
      assert.deepEqual(await unmailedRows(), unread, 'no row marked read without its mails');
      assert.deepEqual(await orderMailKeys(customer.user.email), []);
    } finally {
      await sql`drop trigger fulcrum_test_refuse_mail on mails`.execute(db);
      await sql`drop function fulcrum_test_refuse_mail()`.execute(db);
    }
    await drain();
    assert.deepEqual(await orderMailKeys(customer.user.email), [`order.placed:${orderId}`]);
    assert.deepEqual(await unmailedRows(), []);
  });

  it('a deleted account gets no mail for its orders', async () => {
    const { customer, orderId } = await customerWithOrder(1);
    const gone = await call(app, 'DELETE', `/api/v1/admin/users/${customer.user.id}`, { token: admin.token });
    assert.equal(gone.status, 204);
    await drain();
    const made = await app.database.db
      .selectFrom('mails')
      .select('event_key')
      .where('event_key', 'like', `%${orderId}`)
      .execute();
    assert.deepEqual(made, []);
  });

  // Performance issue 11: a batch of outbox rows costs a constant number of statements, whatever its size.
  const counting = (batchSize?: number) => {
    const counter = new CountStatements();
    const counted: MailWorkerDeps = {
      ...deps,
      db: app.database.db.withPlugin(counter),
      ...(batchSize === undefined ? {} : { batchSize }),
    };
    return { counter, deps: counted };
  };
  const unmailed = () =>
    app.database.db.selectFrom('outbox').select(['id', 'type']).where('mailed_at', 'is', null).orderBy('id').execute();
  const orderFor = async (customer: { token: string }, productId: string) => {
    const order = await placeOrder(app, customer.token, { items: [{ productId, quantity: 1 }] });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    return (order.body.order?.id ?? order.body.id) as string;
  };

  it('a batch of 10 placed orders costs the statements of a batch of 1: select, orders, items, one insert that marks', async () => {
    const product = await createProduct(app, admin.token, { name: 'Straw Hat' });
    const batchOf = async (n: number) => {
      await drain();
      const placed: { email: string; orderId: string }[] = [];
      for (let i = 0; i < n; i += 1) {
        const customer = await createUser(app);
        placed.push({ email: customer.email, orderId: await orderFor(customer, product.id) });
      }
      assert.equal((await unmailed()).length, n, 'one outbox row per order');
      const { counter, deps: counted } = counting();
      assert.equal(await mailFromOutbox(counted), n);
      for (const { email, orderId } of placed) {
        const mails = await mailsOf(email);
        assert.deepEqual(
          mails.map((m) => m.event_key),
          [`order.placed:${orderId}`],
        );
        assert.match(mails[0]!.text_body, new RegExp(`1 × Straw Hat .* at \\$10\\.00: \\$10\\.00`));
        assert.match(mails[0]!.text_body, /Total: \$10\.00/);
      }
      assert.deepEqual(await unmailed(), []);
      return counter.kinds;
    };
    const one = await batchOf(1);
    const ten = await batchOf(10);
    // The mails' insert marks the rows read in the same statement (was a fifth statement, an update).
    assert.deepEqual(one, ['SelectQueryNode', 'SelectQueryNode', 'SelectQueryNode', 'InsertQueryNode']);
    assert.deepEqual(ten, one, `batch of 10: ${ten.length} statements, batch of 1: ${one.length}`);
  });

  it('every kind of order mail in one batch: 7 statements for 1 order or 3, the same mails as one event at a time', async () => {
    const product = await createProduct(app, admin.token, {
      name: 'Wool Cap',
      price: { amount: 2000, currency: 'usd' },
    });
    // Per group: an order placed, paid and partly refunded, and an order placed and cancelled.
    const group = async () => {
      const customer = await createUser(app);
      const paidOrder = await orderFor(customer, product.id);
      const paymentId = await payManually(customer.token, paidOrder);
      const refund = await call(app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
        token: admin.token,
        body: { amount: 700 },
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(refund.status, 201, JSON.stringify(refund.body));
      const cancelled = await orderFor(customer, product.id);
      const cancel = await call(app, 'POST', `/api/v1/orders/${cancelled}/cancel`, { token: customer.token, body: {} });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      return {
        customer,
        keys: [
          `order.placed:${paidOrder}`,
          `order.paid:${paidOrder}`,
          `refund.succeeded:${refund.body.refund.id}`,
          `order.placed:${cancelled}`,
          `order.closed:${cancelled}`,
        ].sort(),
      };
    };
    const made = async (userIds: string[]) =>
      (
        await app.database.db
          .selectFrom('mails')
          .select(['event_key', 'user_id', 'to_address', 'subject', 'text_body', 'html_body'])
          .where('user_id', 'in', userIds)
          .orderBy('event_key')
          .execute()
      ).map((m) => ({ ...m }));
    const batchOf = async (groups: number) => {
      await drain();
      const made_ = [];
      for (let i = 0; i < groups; i += 1) made_.push(await group());
      const userIds = made_.map((g) => g.customer.id);
      const rows = await unmailed();
      // One event at a time (batches of 1), as the worker did before: the reference.
      while ((await mailFromOutbox({ ...deps, batchSize: 1 })) > 0) continue;
      const oneByOne = await made(userIds);
      assert.deepEqual(oneByOne.map((m) => m.event_key).sort(), made_.flatMap((g) => g.keys).sort());
      // The same rows again, in one batch, with their mails gone.
      await app.database.db.deleteFrom('mails').where('user_id', 'in', userIds).execute();
      await app.database.db
        .updateTable('outbox')
        .set({ mailed_at: null })
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
      const { counter, deps: counted } = counting();
      assert.equal(await mailFromOutbox(counted), rows.length, 'the whole group in one batch');
      assert.deepEqual(await made(userIds), oneByOne, 'the same mails, word for word');
      assert.deepEqual(await unmailed(), []);
      return counter.kinds;
    };
    const one = await batchOf(1);
    const three = await batchOf(3);
    assert.deepEqual(one, [
      'SelectQueryNode', // the outbox rows
      'SelectQueryNode', // the refunded payments
      'SelectQueryNode', // the orders and their accounts
      'SelectQueryNode', // the items
      'SelectQueryNode', // the paid payments
      'SelectQueryNode', // the refunds
      'InsertQueryNode', // every mail, and mailed_at in the same statement
    ]);
    assert.deepEqual(three, one, `3 groups: ${three.length} statements, 1 group: ${one.length}`);
  });

  it("a deleted account's order in a batch gets no mail; the others in that batch do", async () => {
    const product = await createProduct(app, admin.token);
    await drain();
    const customers = [await createUser(app), await createUser(app), await createUser(app)];
    const orders = [];
    for (const customer of customers) orders.push(await orderFor(customer, product.id));
    const gone = await call(app, 'DELETE', `/api/v1/admin/users/${customers[1]!.id}`, { token: admin.token });
    assert.equal(gone.status, 204);
    const { deps: counted } = counting();
    assert.ok((await mailFromOutbox(counted)) >= 3);
    assert.deepEqual(await unmailed(), []);
    const made = await app.database.db
      .selectFrom('mails')
      .select(['event_key', 'to_address'])
      .where('user_id', 'in', [...customers.map((c) => c.id)])
      .orderBy('to_address')
      .execute();
    const sortedMade = made.map((m) => `${m.to_address} ${m.event_key}`).sort();
    assert.deepEqual(
      sortedMade,
      [`${customers[0]!.email} order.placed:${orders[0]}`, `${customers[2]!.email} order.placed:${orders[2]}`].sort(),
    );
    const forGone = await app.database.db
      .selectFrom('mails')
      .select('event_key')
      .where('event_key', 'like', `%${orders[1]}`)
      .execute();
    assert.deepEqual(forGone, []);
  });

  it('one event twice in one batch (a fact told twice before any mail): one mail, and every row read', async () => {
    const product = await createProduct(app, admin.token);
    await drain();
    const ann = await createUser(app);
    const bob = await createUser(app);
    const annOrder = await orderFor(ann, product.id);
    const bobOrder = await orderFor(bob, product.id);
    await app.database.db.transaction().execute(async (trx) => {
      const payload = { orderId: annOrder, status: 'CREATED', paymentStatus: null, at: new Date().toISOString() };
      await appendOutbox(trx, { userId: ann.id, type: 'order.updated', payload });
    });
    assert.equal((await unmailed()).length, 3);
    const { counter, deps: counted } = counting();
    assert.equal(await mailFromOutbox(counted), 3, 'all three rows in one batch');
    assert.equal(counter.kinds.filter((k) => k === 'InsertQueryNode').length, 1, 'one insert');
    assert.deepEqual(
      (await mailsOf(ann.email)).map((m) => m.event_key),
      [`order.placed:${annOrder}`],
    );
    assert.deepEqual(
      (await mailsOf(bob.email)).map((m) => m.event_key),
      [`order.placed:${bobOrder}`],
    );
    assert.deepEqual(await unmailed(), []);
  });
});
