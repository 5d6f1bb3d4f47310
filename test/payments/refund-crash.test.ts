import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { recordIdempotentResult } from '../../src/http/idempotency.ts';
import { toRefundResponse } from '../../src/modules/payments/index.ts';
import { requestRefund } from '../../src/modules/payments/refunds.service.ts';
import { call, insertDeadClaim } from '../helpers.ts';
import { newOrder, pay, settle, startPayment, startShop, type Shop } from './support.ts';

describe('payments: a process that dies after recording a refund, before answering', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  it('the retry with the same key replays that refund and never refunds twice', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await pay(shop, payment.sessionId);
    await settle(shop);

    const key = 'refund-crash-key';
    const body = { amount: 500 };
    const route = `/api/v1/admin/payments/${payment.id}/refunds`;
    await insertDeadClaim(shop.app, {
      scope: shop.admin.id,
      key,
      route: route,
      body,
      leaseId: 'lease-of-the-dead-request',
    });
    // The dead request: its refund is recorded (and sent), then the process died before answering.
    const recorded = await requestRefund(
      shop.app.payments.deps,
      { id: shop.admin.id, role: 'admin' },
      payment.id,
      body,
      (trx, refund) =>
        recordIdempotentResult(
          trx,
          { scope: shop.admin.id, key, leaseId: 'lease-of-the-dead-request' },
          201,
          { refund: toRefundResponse(refund) },
          shop.clock.now(),
        ),
    );

    const retry = await call(shop.app, 'POST', route, {
      token: shop.admin.token,
      body,
      headers: { 'idempotency-key': key },
    });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.refund.id, recorded.id);
    const refunds = await shop.app.database.db
      .selectFrom('refunds')
      .select(['id', 'amount'])
      .where('payment_id', '=', payment.id)
      .execute();
    assert.deepEqual(refunds, [{ id: recorded.id, amount: 500 }]);
    const row = await shop.app.database.db
      .selectFrom('payments')
      .select('gateway_payment_intent_id')
      .where('id', '=', payment.id)
      .executeTakeFirstOrThrow();
    const intent = await shop.stripe.paymentIntents.retrieve(row.gateway_payment_intent_id!, {
      expand: ['latest_charge'],
    });
    const charge = intent.latest_charge as { amount_refunded: number };
    assert.equal(charge.amount_refunded, 500, 'the gateway refunded once');
  });
});
