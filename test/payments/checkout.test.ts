import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Providers } from '../../src/modules/payments/index.ts';
import { call } from '../helpers.ts';
import {
  checkout,
  clearFaults,
  newOrder,
  pay,
  paymentRow,
  paymentsOf,
  setFaults,
  settle,
  startShop,
  type Shop,
} from './support.ts';

describe('payments: checkout', () => {
  let shop: Shop;
  let creates = 0;
  /** Every session id the gateway handed back, per payment. */
  const sessions = new Map<string, Set<string>>();
  const spy = (providers: Providers): Providers => ({
    ...providers,
    stripe: {
      ...providers.stripe!,
      async createCheckout(request) {
        creates += 1;
        const created = await providers.stripe!.createCheckout(request);
        const seen = sessions.get(request.paymentId) ?? new Set<string>();
        seen.add(created.sessionId ?? 'none');
        sessions.set(request.paymentId, seen);
        return created;
      },
    },
  });

  before(async () => {
    shop = await startShop({ payments: { wrapProviders: spy } });
  });
  after(() => shop.close());

  it('when 20 checkouts race for one order, one payment and one session exist', async () => {
    const order = await newOrder(shop);
    const createsBefore = creates;
    const answers = await Promise.all(Array.from({ length: 20 }, () => checkout(shop, order.id)));
    const won = answers.filter((a) => a.status === 201);
    const lost = answers.filter((a) => a.status === 409);
    assert.equal(won.length, 1, `statuses: ${answers.map((a) => a.status).join(',')}`);
    assert.equal(lost.length, 19);
    const winner = won[0]!.body.payment.id as string;
    for (const answer of lost) {
      assert.equal(answer.body.code, 'payment_already_pending');
      assert.equal(answer.body.payment.id, winner, 'the 409 names the payment in progress');
    }
    assert.equal((await paymentsOf(shop, order.id)).length, 1);
    assert.equal(creates - createsBefore, 1, 'one call to the gateway');
    assert.equal(sessions.get(winner)?.size, 1);
  });

  it('answers a retried checkout (same Idempotency-Key) from the first, without a second gateway call', async () => {
    const order = await newOrder(shop);
    const first = await checkout(shop, order.id, shop.customer, {}, 'retry-key-1');
    const createsBefore = creates;
    const again = await checkout(shop, order.id, shop.customer, {}, 'retry-key-1');
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(creates, createsBefore);
    const other = await checkout(shop, order.id, shop.customer, { provider: 'manual' }, 'retry-key-1');
    assert.equal(other.status, 422);
    assert.equal(other.body.code, 'idempotency_key_reused');
  });

  it('refuses paid, cancelled, expired, foreign and malformed checkouts', async () => {
    const paidOrder = await newOrder(shop);
    const payment = (await checkout(shop, paidOrder.id)).body.payment;
    await pay(shop, (await paymentRow(shop, payment.id)).gateway_session_id!);
    await settle(shop);
    const again = await checkout(shop, paidOrder.id);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'order_already_paid');

    const cancelled = await newOrder(shop);
    await call(shop.app, 'POST', `/api/v1/orders/${cancelled.id}/cancel`, { token: shop.customer.token, body: {} });
    const onCancelled = await checkout(shop, cancelled.id);
    assert.equal(onCancelled.status, 409);
    assert.equal(onCancelled.body.code, 'invalid_transition');

    const open = await newOrder(shop);
    const stranger = await checkout(shop, open.id, { id: 'x', token: shop.admin.token });
    assert.equal(stranger.status, 403, 'staff see the order but only its customer pays for it');
    const other = await newOrder(shop, shop.admin);
    assert.equal((await checkout(shop, other.id)).status, 404, "another customer's order does not exist for you");
    assert.equal((await checkout(shop, 'ord_nope')).status, 404);
    const noKey = await call(shop.app, 'POST', `/api/v1/orders/${open.id}/checkout`, {
      token: shop.customer.token,
      body: {},
    });
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.code, 'idempotency_key_required');
    const badProvider = await checkout(shop, open.id, shop.customer, { provider: 'paypal' });
    assert.equal(badProvider.status, 400);
    assert.equal(badProvider.body.code, 'validation_failed');
    assert.equal((await paymentsOf(shop, open.id)).length, 0);

    const expiring = await newOrder(shop);
    shop.clock.advance(31 * 60_000); // past the order's 30 minutes (tokens are minted per request below)
    try {
      const late = await call(shop.app, 'POST', `/api/v1/orders/${expiring.id}/checkout`, {
        token: await shop.app.deps.tokens.issueAccessToken({ id: shop.customer.id, role: 'customer' }),
        body: {},
        headers: { 'idempotency-key': 'late-1' },
      });
      assert.equal(late.status, 409);
      assert.equal(late.body.code, 'invalid_transition');
    } finally {
      shop.clock.advance(-31 * 60_000);
    }
  });

  it('a gateway failure is 502 gateway_unavailable; checking out again resumes that payment with its one session', async () => {
    const order = await newOrder(shop);
    await setFaults(shop, { apiErrorRate: 1 });
    let failed;
    try {
      failed = await checkout(shop, order.id);
    } finally {
      await clearFaults(shop);
    }
    assert.equal(failed.status, 502);
    assert.equal(failed.body.code, 'gateway_unavailable');
    const paymentId = failed.body.payment.id as string;
    let row = await paymentRow(shop, paymentId);
    assert.equal(row.status, 'PENDING');
    assert.equal(row.gateway_session_id, null);

    const retry = await checkout(shop, order.id);
    assert.equal(retry.status, 201, 'the same payment, its phase 2 done now');
    assert.equal(retry.body.payment.id, paymentId);
    row = await paymentRow(shop, paymentId);
    assert.ok(row.gateway_session_id !== null && row.checkout_url !== null);
    assert.equal(retry.body.payment.checkoutUrl, row.checkout_url);
    assert.deepEqual([...(sessions.get(paymentId) ?? [])], [row.gateway_session_id]);
    assert.equal((await paymentsOf(shop, order.id)).length, 1);
    const again = await checkout(shop, order.id);
    assert.equal(again.status, 409, 'with its session, the payment is in progress');
    assert.equal(again.body.code, 'payment_already_pending');
    assert.equal(again.body.payment.checkoutUrl, row.checkout_url);

    // Reconciliation of the same payment (its session id lost) replays the gateway's answer: still one session.
    await shop.app.database.db
      .updateTable('payments')
      .set({ gateway_session_id: null })
      .where('id', '=', paymentId)
      .execute();
    shop.clock.advance(31_000);
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, paymentId)).gateway_session_id, row.gateway_session_id);
    assert.equal(sessions.get(paymentId)?.size, 1, 'the same idempotency key returns the same session');

    await pay(shop, (await paymentRow(shop, paymentId)).gateway_session_id!);
    await settle(shop);
    assert.equal((await paymentRow(shop, paymentId)).status, 'SUCCEEDED');
  });
});
