import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, type JsonResponse } from '../helpers.ts';
import { checkout, getOrder, newOrder, pay, settle, startPayment, startShop, type Shop } from './support.ts';

// Issue 13 point 1: If-Match on the state changes payments makes to an order — a refund of its payment, the
// confirmation of a manual payment, cancelling a PAID order (which refunds it). If-Match names the order's version.
describe('payments: If-Match on refunds, manual confirmation and cancelling a paid order', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const admin = () => shop.admin.token;
  const refund = (paymentId: string, body: unknown, ifMatch?: string, key = randomUUID()): Promise<JsonResponse> =>
    call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/refunds`, {
      token: admin(),
      body,
      headers: { 'idempotency-key': key, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) },
    });
  const confirm = (paymentId: string, ifMatch?: string) =>
    call(shop.app, 'POST', `/api/v1/admin/payments/${paymentId}/confirm`, {
      token: admin(),
      ...(ifMatch === undefined ? {} : { headers: { 'if-match': ifMatch } }),
    });
  const refunds = (paymentId: string) =>
    shop.app.database.db.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).execute();

  async function paidOrder(): Promise<{ orderId: string; paymentId: string; version: number }> {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId);
    await settle(shop);
    const view = (await getOrder(shop, order.id, shop.admin)).body;
    assert.equal(view.status, 'PAID');
    return { orderId: order.id, paymentId: payment.id, version: view.version };
  }

  it('a refund with the order’s current version is made, and the order’s version goes up', async () => {
    const { orderId, paymentId, version } = await paidOrder();
    const res = await refund(paymentId, { amount: 100, reason: 'scratch' }, `"${version}"`);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const after = (await getOrder(shop, orderId, shop.admin)).body;
    assert.ok(after.version > version);
    assert.equal(after.refunded.amount, 100);
  });

  it('a refund naming an older version is 412 with the current order; no refund is recorded', async () => {
    const { orderId, paymentId, version } = await paidOrder();
    assert.equal((await refund(paymentId, { amount: 100 }, `"${version}"`)).status, 201);
    // A second admin's page still shows `version`: its refund would be a second one.
    const key = randomUUID();
    const stale = await refund(paymentId, { amount: 100 }, `"${version}"`, key);
    assert.equal(stale.status, 412);
    assert.equal(stale.body.code, 'precondition_failed');
    assert.equal(stale.body.order.id, orderId);
    assert.equal(stale.body.order.refunded.amount, 100);
    assert.ok(stale.body.order.version > version);
    assert.equal((await refunds(paymentId)).length, 1, 'nothing recorded');
    // Nothing was done, so the key is free: retried with the version just learnt, the same key refunds.
    const retried = await refund(paymentId, { amount: 100 }, `"${stale.body.order.version}"`, key);
    assert.equal(retried.status, 201);
    assert.equal((await refunds(paymentId)).length, 2);
  });

  it('a malformed If-Match on a refund is 400 and records nothing; without one, refunds work as before', async () => {
    const { paymentId } = await paidOrder();
    const bad = await refund(paymentId, { amount: 100 }, 'five');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].path, 'headers.If-Match');
    assert.equal((await refunds(paymentId)).length, 0);
    assert.equal((await refund(paymentId, { amount: 100 })).status, 201);
  });

  it('two refunds on one version at once: one is made, the other is 412', async () => {
    const { paymentId, version } = await paidOrder();
    const answers = await Promise.all([
      refund(paymentId, { amount: 100 }, `"${version}"`),
      refund(paymentId, { amount: 100 }, `"${version}"`),
    ]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 412]);
    assert.equal((await refunds(paymentId)).length, 1);
  });

  it('cancelling a PAID order on a stale version refunds nothing; on the current one it refunds in full', async () => {
    const { orderId, paymentId, version } = await paidOrder();
    assert.equal((await refund(paymentId, { amount: 100 }, `"${version}"`)).status, 201);
    const cancel = (ifMatch: string) =>
      call(shop.app, 'POST', `/api/v1/orders/${orderId}/cancel`, {
        token: admin(),
        body: { reason: 'out of stock' },
        headers: { 'if-match': ifMatch },
      });
    const stale = await cancel(`"${version}"`);
    assert.equal(stale.status, 412);
    assert.equal(stale.body.order.status, 'PAID');
    assert.equal((await refunds(paymentId)).length, 1, 'no refund recorded');
    const current = (await getOrder(shop, orderId, shop.admin)).body.version;
    const ok = await cancel(`"${current}"`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'CANCELLED');
    assert.equal((await refunds(paymentId)).length, 2);
  });

  it('confirming a manual payment on a stale version is 412 (the order was cancelled meanwhile); current: PAID', async () => {
    const order = await newOrder(shop);
    const payment = (await checkout(shop, order.id, shop.customer, { provider: 'manual' })).body.payment;
    const version = (await getOrder(shop, order.id, shop.admin)).body.version;
    assert.equal((await confirm(payment.id, '"x"')).status, 412, 'a tag that is no version matches nothing');
    const ok = await confirm(payment.id, `"${version}"`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await getOrder(shop, order.id, shop.admin)).body.status, 'PAID');

    const other = await newOrder(shop);
    const manual = (await checkout(shop, other.id, shop.customer, { provider: 'manual' })).body.payment;
    const seen = (await getOrder(shop, other.id, shop.admin)).body.version;
    const cancelled = await call(shop.app, 'POST', `/api/v1/orders/${other.id}/cancel`, {
      token: shop.customer.token,
      body: {},
    });
    assert.equal(cancelled.status, 200);
    const stale = await confirm(manual.id, `"${seen}"`);
    assert.equal(stale.status, 412);
    assert.equal(stale.body.order.status, 'CANCELLED');
    const row = await shop.app.database.db
      .selectFrom('payments')
      .select('status')
      .where('id', '=', manual.id)
      .executeTakeFirstOrThrow();
    assert.notEqual(row.status, 'SUCCEEDED', 'the money was not taken for a cancelled order');
    const malformed = await confirm(manual.id, '1');
    assert.equal(malformed.status, 400);
  });
});
