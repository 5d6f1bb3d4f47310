import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyPaymentFact } from '../../src/modules/payments/confirmation.ts';
import { markPaidAtOnce } from '../../src/modules/payments/paid-at-once.ts';
import { call } from '../helpers.ts';
import { newOrder, orderEvents, paymentRow, startPayment, startShop, type Shop } from './support.ts';

/**
 * The common confirmation in one statement (paid-at-once.ts): it must write exactly what the locked path would, and
 * nothing at all when what it read without a lock no longer holds — then the locked path decides.
 */
describe('payments: the confirmation in one statement', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const paidFact = (paymentId: string, amount = 2500) => ({
    kind: 'paid' as const,
    ref: { paymentId, sessionId: null, paymentIntentId: null },
    amount,
    currency: 'USD',
    paymentIntentId: `pi_${paymentId}`,
  });

  const orderRow = (id: string) =>
    shop.app.database.db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  const outboxOf = async (orderId: string) =>
    (await shop.app.database.db.selectFrom('outbox').select(['type', 'user_id', 'payload']).orderBy('id').execute())
      .map((r) => ({ type: r.type, userId: r.user_id, payload: r.payload as Record<string, unknown> }))
      .filter((r) => r.payload.orderId === orderId);

  it('writes what the locked path writes: payment SUCCEEDED, order PAID, audit entry, both messages', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    const before = await orderRow(order.id);
    const messagesBefore = (await outboxOf(order.id)).length;
    const at = shop.clock.now();
    const found = await paymentRow(shop, payment.id);
    const result = await shop.app.database.db
      .transaction()
      .execute((trx) => markPaidAtOnce(trx, found, paidFact(payment.id), { at, actor: 'system:webhook' }));
    const paid = await paymentRow(shop, payment.id);
    assert.deepEqual(result, {
      outcome: { kind: 'paid', from: 'PENDING' },
      paymentId: payment.id,
      refundsToIssue: [],
      payment: paid, // the row as written, every column typed as a read gives it
    });
    assert.equal(paid.status, 'SUCCEEDED');
    assert.equal(paid.succeeded_at?.toISOString(), at.toISOString());
    assert.equal(paid.gateway_payment_intent_id, `pi_${payment.id}`);
    const after = await orderRow(order.id);
    assert.equal(after.status, 'PAID');
    assert.equal(after.paid_at?.toISOString(), at.toISOString());
    assert.equal(after.version, before.version + 1, 'the order version goes up once');
    const last = (await orderEvents(shop, order.id)).at(-1)!;
    assert.deepEqual(
      { type: last.type, from: last.from_status, to: last.to_status, actor: last.actor, reason: last.reason },
      {
        type: 'order.paid',
        from: 'CREATED',
        to: 'PAID',
        actor: 'system:payments',
        reason: `${payment.id} confirmed by the gateway`,
      },
    );
    // Both messages, in either order (one statement writes both; the relay orders each user's by eventId).
    const messages = (await outboxOf(order.id)).slice(messagesBefore).sort((a, b) => a.type.localeCompare(b.type));
    assert.deepEqual(messages, [
      {
        type: 'order.updated',
        userId: shop.customer.id,
        payload: { orderId: order.id, status: 'PAID', paymentStatus: 'SUCCEEDED', at: at.toISOString() },
      },
      {
        type: 'payment.updated',
        userId: shop.customer.id,
        payload: { paymentId: payment.id, orderId: order.id, status: 'SUCCEEDED', at: at.toISOString() },
      },
    ]);
    const res = await call(shop.app, 'GET', `/api/v1/orders/${order.id}`, { token: shop.customer.token });
    assert.equal(res.body.status, 'PAID');
  });

  it('writes nothing when the order was cancelled after the read: the locked path refunds the money', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    const found = await paymentRow(shop, payment.id);
    const cancel = await call(shop.app, 'POST', `/api/v1/orders/${order.id}/cancel`, {
      token: shop.customer.token,
      body: {},
    });
    assert.equal(cancel.status, 200);
    const at = shop.clock.now();
    const db = shop.app.database.db;
    const atOnce = await db
      .transaction()
      .execute((trx) => markPaidAtOnce(trx, found, paidFact(payment.id), { at, actor: 'system:webhook' }));
    assert.equal(atOnce, undefined);
    const untouched = await paymentRow(shop, payment.id);
    assert.notEqual(untouched.status, 'SUCCEEDED');
    assert.equal((await orderRow(order.id)).status, 'CANCELLED');
    // The whole confirmation path then records the money and gives it back.
    const applied = await db
      .transaction()
      .execute((trx) => applyPaymentFact(trx, paidFact(payment.id), { at, actor: 'system:webhook' }));
    assert.equal(applied.outcome.kind, 'paid_closed_order');
    assert.equal(applied.refundsToIssue.length, 1);
  });

  it('writes nothing when the payment moved after the read, or a refund row exists, or the amount differs', async () => {
    const db = shop.app.database.db;
    const at = shop.clock.now();
    const tryAtOnce = (found: Awaited<ReturnType<typeof paymentRow>>, amount = 2500) =>
      db.transaction().execute((trx) => markPaidAtOnce(trx, found, paidFact(found.id, amount), { at, actor: 'x' }));

    // Moved: the row is FAILED now, the read said PENDING.
    const o1 = await newOrder(shop);
    const p1 = await startPayment(shop, o1.id);
    const read1 = await paymentRow(shop, p1.id);
    await db.updateTable('payments').set({ status: 'FAILED' }).where('id', '=', p1.id).execute();
    assert.equal(await tryAtOnce(read1), undefined);
    assert.equal((await paymentRow(shop, p1.id)).status, 'FAILED');
    assert.equal((await orderRow(o1.id)).status, 'CREATED');

    // A refund event arrived before the confirmation (any order of arrival): the locked path counts it.
    const o2 = await newOrder(shop);
    const p2 = await startPayment(shop, o2.id);
    await db
      .insertInto('refunds')
      .values({
        id: `re_early_${p2.id}`,
        payment_id: p2.id,
        amount: 100,
        currency: 'usd',
        status: 'SUCCEEDED',
        reason: 'requested_by_customer',
        initiated_by: 'gateway',
        gateway_refund_id: `re_gw_${p2.id}`,
        created_at: at,
        updated_at: at,
      })
      .execute();
    assert.equal(await tryAtOnce(await paymentRow(shop, p2.id)), undefined);
    assert.equal((await paymentRow(shop, p2.id)).status, 'PENDING');
    assert.equal((await orderRow(o2.id)).status, 'CREATED');

    // Other money than asked for: not this path at all (held by the locked path).
    const o3 = await newOrder(shop);
    const p3 = await startPayment(shop, o3.id);
    assert.equal(await tryAtOnce(await paymentRow(shop, p3.id), 2499), undefined);
    assert.equal((await paymentRow(shop, p3.id)).status, 'PENDING');
  });
});
