import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PaymentFact } from './facts.ts';
import { outcomeWithoutChange } from './no-change.ts';
import type { PaymentStatus } from './payment-status.ts';
import type { PaymentRow } from './payments.repository.ts';

const ref = { paymentId: 'pay_1', sessionId: null, paymentIntentId: null };
const payment = (status: PaymentStatus, intent: string | null = 'pi_1') =>
  ({ id: 'pay_1', status, gateway_payment_intent_id: intent, refunded_amount: 0, currency: 'usd' }) as PaymentRow;
const paid: PaymentFact = { kind: 'paid', ref, amount: 2500, currency: 'usd', paymentIntentId: 'pi_1' };

describe('payment facts decided without a lock', () => {
  it('money for a captured payment whose intent is known is a duplicate; anything else takes the locked path', () => {
    for (const status of ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'] as const) {
      assert.deepEqual(outcomeWithoutChange(paid, payment(status)), { kind: 'duplicate', of: 'status', status });
    }
    // The locked path records the intent: not a no-change.
    assert.equal(outcomeWithoutChange(paid, payment('SUCCEEDED', null)), undefined);
    for (const status of ['PENDING', 'FAILED', 'EXPIRED', 'CANCELED'] as const) {
      assert.equal(outcomeWithoutChange(paid, payment(status)), undefined, status);
    }
  });

  it('late failures, expiries, declines and processing for a payment no longer PENDING change nothing', () => {
    const failed: PaymentFact = { kind: 'failed', ref, reason: 'async_payment_failed' };
    const expired: PaymentFact = { kind: 'expired', ref };
    const declined: PaymentFact = { kind: 'declined', ref, reason: 'card_declined' };
    const processing: PaymentFact = { kind: 'processing', ref, paymentIntentId: 'pi_1' };
    assert.deepEqual(outcomeWithoutChange(failed, payment('FAILED')), {
      kind: 'duplicate',
      of: 'status',
      status: 'FAILED',
    });
    assert.deepEqual(outcomeWithoutChange(failed, payment('SUCCEEDED')), {
      kind: 'ignored',
      fact: 'failed',
      status: 'SUCCEEDED',
    });
    assert.deepEqual(outcomeWithoutChange(expired, payment('CANCELED')), {
      kind: 'duplicate',
      of: 'status',
      status: 'CANCELED',
    });
    assert.deepEqual(outcomeWithoutChange(declined, payment('REFUNDED')), {
      kind: 'ignored',
      fact: 'declined',
      status: 'REFUNDED',
    });
    assert.deepEqual(outcomeWithoutChange(processing, payment('PENDING')), { kind: 'duplicate', of: 'processing' });
    for (const fact of [failed, expired, declined])
      assert.equal(outcomeWithoutChange(fact, payment('PENDING')), undefined);
    assert.equal(outcomeWithoutChange(processing, payment('PENDING', null)), undefined, 'the customer is told once');
  });

  it('cancels, refunds and resolves always take the locked path', () => {
    const facts: PaymentFact[] = [
      { kind: 'canceled', ref, reason: 'order_cancelled' },
      { kind: 'resolve', ref, action: 'accept', reason: null },
      {
        kind: 'refund',
        ref,
        refund: {
          gatewayRefundId: 're_1',
          refundId: null,
          amount: 100,
          currency: 'usd',
          status: 'SUCCEEDED',
          reason: null,
          failureReason: null,
        },
      },
    ];
    for (const fact of facts) assert.equal(outcomeWithoutChange(fact, payment('SUCCEEDED')), undefined, fact.kind);
  });
});
