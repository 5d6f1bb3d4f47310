import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Stripe from 'stripe';
import { factOfEvent, refundStatusOf, sessionFact } from './stripe-events.ts';

const session = (over: Partial<Stripe.Checkout.Session> = {}): Stripe.Checkout.Session =>
  ({
    id: 'cs_test_1',
    object: 'checkout.session',
    status: 'complete',
    payment_status: 'paid',
    amount_total: 2500,
    currency: 'usd',
    metadata: { orderId: 'ord_1', paymentId: 'pay_1' },
    payment_intent: 'pi_1',
    ...over,
  }) as Stripe.Checkout.Session;

const event = (type: string, object: unknown): Stripe.Event =>
  ({ id: 'evt_1', object: 'event', type, data: { object } }) as unknown as Stripe.Event;

const ref = { paymentId: 'pay_1', sessionId: 'cs_test_1', paymentIntentId: 'pi_1' };

describe('Stripe objects as payment facts', () => {
  it('reads a session: paid, processing (complete but unpaid), expired, open', () => {
    assert.deepEqual(sessionFact(session()), {
      kind: 'paid',
      ref,
      amount: 2500,
      currency: 'usd',
      paymentIntentId: 'pi_1',
    });
    assert.deepEqual(sessionFact(session({ payment_status: 'unpaid' })), {
      kind: 'processing',
      ref,
      paymentIntentId: 'pi_1',
    });
    assert.equal(sessionFact(session({ status: 'expired', payment_status: 'unpaid' })).kind, 'expired');
    assert.equal(sessionFact(session({ status: 'open', payment_status: 'unpaid', payment_intent: null })).kind, 'open');
  });

  it('trusts only Fulcrum-shaped ids from metadata', () => {
    const fact = sessionFact(session({ metadata: { paymentId: 'something else' } }));
    assert.equal(fact.ref.paymentId, null);
    assert.equal(fact.ref.sessionId, 'cs_test_1');
  });

  it('maps every handled event type, and says why it ignores the others', () => {
    const kinds = (type: string, object: unknown) => {
      const t = factOfEvent(event(type, object));
      return 'fact' in t ? t.fact.kind : t.ignored;
    };
    assert.equal(kinds('checkout.session.completed', session()), 'paid');
    assert.equal(kinds('checkout.session.completed', session({ payment_status: 'unpaid' })), 'processing');
    assert.equal(kinds('checkout.session.async_payment_succeeded', session({ payment_status: 'unpaid' })), 'paid');
    assert.equal(kinds('checkout.session.async_payment_failed', session({ payment_status: 'unpaid' })), 'failed');
    assert.equal(kinds('checkout.session.expired', session({ status: 'expired' })), 'expired');
    const intent = { id: 'pi_1', amount_received: 2500, currency: 'usd', metadata: { paymentId: 'pay_1' } };
    assert.equal(kinds('payment_intent.succeeded', intent), 'paid');
    const declined = factOfEvent(
      event('payment_intent.payment_failed', {
        ...intent,
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'lost_card' },
      }),
    );
    assert.ok('fact' in declined && declined.fact.kind === 'declined');
    assert.equal(declined.fact.reason, 'card_declined: lost_card');
    const charge = { id: 'ch_1', payment_intent: 'pi_1', amount_refunded: 500, currency: 'usd', metadata: {} };
    assert.equal(kinds('charge.refunded', charge), 'refund_total');
    const refund = {
      id: 're_1',
      amount: 500,
      currency: 'usd',
      status: 'succeeded',
      payment_intent: 'pi_1',
      reason: null,
      metadata: { refundId: 'ref_1', paymentId: 'pay_1' },
    };
    for (const type of ['refund.created', 'refund.updated', 'refund.failed']) {
      const t = factOfEvent(event(type, refund));
      assert.ok('fact' in t && t.fact.kind === 'refund', type);
      assert.deepEqual(t.fact.refund, {
        gatewayRefundId: 're_1',
        refundId: 'ref_1',
        amount: 500,
        currency: 'usd',
        status: 'SUCCEEDED',
        reason: null,
        failureReason: null,
      });
    }
    assert.equal(kinds('customer.created', { id: 'cus_1' }), 'ignored: customer.created is not handled');
  });

  it("follows the gateway's refund statuses", () => {
    assert.equal(refundStatusOf('succeeded'), 'SUCCEEDED');
    assert.equal(refundStatusOf('pending'), 'PENDING');
    assert.equal(refundStatusOf('requires_action'), 'PENDING');
    assert.equal(refundStatusOf('failed'), 'FAILED');
    assert.equal(refundStatusOf('canceled'), 'FAILED');
  });
});
