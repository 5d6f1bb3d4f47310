import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { PaymentFact } from '../../src/modules/payments/facts.ts';
import { createProviders, defaultProviders } from '../../src/modules/payments/providers/index.ts';
import type { GatewayEvent, ProviderDefinition } from '../../src/modules/payments/providers/types.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { call } from '../helpers.ts';
import { checkout, drainInbox, getOrder, inboxRows, newOrder, paymentRow, startShop } from './support.ts';

/** An in-memory gateway with a hosted page at a URL, an event log and lookups: a third provider, test-only. */
function fakePay() {
  const sessions = new Map<string, { paymentId: string; amount: number; currency: string; paid: boolean }>();
  const log: GatewayEvent[] = [];
  let creates = 0;
  const paidFact = (sessionId: string): PaymentFact => {
    const s = sessions.get(sessionId)!;
    return {
      kind: 'paid',
      ref: { paymentId: s.paymentId, sessionId, paymentIntentId: null },
      amount: s.amount,
      currency: s.currency,
      paymentIntentId: null,
    };
  };
  const definition: ProviderDefinition = {
    name: 'fakepay',
    create: () => ({
      name: 'fakepay',
      hostedCheckout: true,
      createCheckout(request) {
        creates += 1;
        const id = `fk_${request.paymentId}`;
        if (!sessions.has(id)) {
          sessions.set(id, {
            paymentId: request.paymentId,
            amount: request.amount,
            currency: request.currency,
            paid: false,
          });
        }
        return Promise.resolve({ sessionId: id, url: `https://fakepay.test/pay/${id}` });
      },
      lookup: ({ paymentId, sessionId }) =>
        Promise.resolve(
          sessions.get(sessionId)?.paid === true
            ? paidFact(sessionId)
            : { kind: 'open', ref: { paymentId, sessionId, paymentIntentId: null } },
        ),
      expireCheckout: () => Promise.resolve('expired'),
      refund: (request) =>
        Promise.resolve({
          gatewayRefundId: `fkr_${request.refundId}`,
          refundId: request.refundId,
          amount: request.amount,
          currency: request.currency,
          status: 'SUCCEEDED',
          reason: request.reason,
          failureReason: null,
        }),
      lookupRefund: () => Promise.resolve(null),
      listEvents(cursor) {
        const from = cursor === null ? 0 : log.findIndex((e) => e.id === cursor) + 1;
        const events = log.slice(from);
        return Promise.resolve({ events, cursor: events.at(-1)?.id ?? cursor });
      },
      translateEvent(payload) {
        const event = payload as { type: string; sessionId: string };
        return event.type === 'paid' ? { fact: paidFact(event.sessionId) } : { ignored: `ignored: ${event.type}` };
      },
    }),
  };
  return {
    definition,
    get creates() {
      return creates;
    },
    /** The customer pays on the hosted page; with `event`, the gateway logs it. */
    pay(sessionId: string, event = true) {
      sessions.get(sessionId)!.paid = true;
      if (event) {
        const id = `fkev_${randomUUID()}`;
        log.push({ id, type: 'paid', payload: JSON.stringify({ id, type: 'paid', sessionId }) });
      }
    },
  };
}

const fake = fakePay();

describe('payments: a third provider passed into the runtime', () => {
  let shop: Awaited<ReturnType<typeof startShop>>;
  before(async () => {
    shop = await startShop({ payments: { providers: [...defaultProviders, fake.definition] } });
  });
  after(() => shop.close());

  it('checks out through it and confirms from its event log, through the inbox', async () => {
    const order = await newOrder(shop);
    const res = await checkout(shop, order.id, shop.customer, { provider: 'fakepay' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const payment = res.body.payment;
    assert.equal(payment.provider, 'fakepay');
    assert.equal(payment.status, 'PENDING');
    assert.equal(payment.checkoutUrl, `https://fakepay.test/pay/fk_${payment.id}`);
    const row = await paymentRow(shop, payment.id as string);
    assert.equal(row.provider, 'fakepay', 'stored: no database check lists the providers');
    assert.equal(row.session_expires_at, null, 'no checkout window: no stored session expiry');

    fake.pay(row.gateway_session_id!);
    await shop.app.payments.reconcileOnce(); // reads every provider's event log into the inbox
    const stored = (await inboxRows(shop)).filter((r) => r.provider === 'fakepay');
    assert.equal(stored.length, 1);
    await drainInbox(shop);
    const [processed] = (await inboxRows(shop)).filter((r) => r.provider === 'fakepay');
    assert.equal(processed?.status, 'processed');
    assert.equal(processed.outcome, 'PENDING -> SUCCEEDED; order CREATED -> PAID');
    assert.equal((await paymentRow(shop, payment.id as string)).status, 'SUCCEEDED');
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');

    const refund = await call(shop.app, 'POST', `/api/v1/admin/payments/${payment.id}/refunds`, {
      token: shop.admin.token,
      body: { amount: 500 },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    assert.equal(refund.body.refund.status, 'SUCCEEDED', 'refunded through the same provider');
  });

  it('a payment whose event never came is confirmed by looking it up at its provider', async () => {
    const order = await newOrder(shop);
    const payment = (await checkout(shop, order.id, shop.customer, { provider: 'fakepay' })).body.payment;
    fake.pay(`fk_${payment.id}`, false);
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, payment.id as string)).status, 'PENDING', 'too young to look up');
    shop.clock.advance(301_000);
    await shop.app.payments.reconcileOnce();
    assert.equal((await paymentRow(shop, payment.id as string)).status, 'SUCCEEDED');
    assert.equal((await getOrder(shop, order.id)).body.status, 'PAID');
  });

  it('names the runtime was not given are refused at the door; a name given twice is an error', async () => {
    const order = await newOrder(shop);
    const res = await checkout(shop, order.id, shop.customer, { provider: 'paypal' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'validation_failed');
    const context = { stripe: shop.stripe, webhookSecret: undefined, clock: systemClock };
    assert.throws(
      () => createProviders(context, [...defaultProviders, fake.definition, fake.definition]),
      /given twice/,
    );
    assert.throws(() => createProviders(context, []), /no payment provider/);
  });

  it('the set is the runtime’s own: a shop started without it refuses its name at the door', async () => {
    const plain = await startShop();
    try {
      const order = await newOrder(plain);
      const res = await checkout(plain, order.id, plain.customer, { provider: 'fakepay' });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'validation_failed');
      assert.equal((await checkout(plain, order.id, plain.customer, {})).status, 201, 'its own providers work');
    } finally {
      await plain.close();
    }
  });
});
