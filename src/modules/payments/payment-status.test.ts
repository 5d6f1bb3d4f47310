import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  activeStatuses,
  capturedStatuses,
  isPaymentStatus,
  paymentStatuses,
  paymentTransitions,
  transitionPayment,
  type PaymentStatus,
} from './payment-status.ts';

// Written out by hand from docs/api.md (payment statuses) and the confirmation path, independently of the table.
const allowed = new Set([
  'PENDING>SUCCEEDED',
  'PENDING>FAILED',
  'PENDING>EXPIRED',
  'PENDING>CANCELED',
  // Refunds adding up, and a refund the gateway fails after reporting it succeeded.
  'SUCCEEDED>PARTIALLY_REFUNDED',
  'SUCCEEDED>REFUNDED',
  'PARTIALLY_REFUNDED>REFUNDED',
  'PARTIALLY_REFUNDED>SUCCEEDED',
  'REFUNDED>PARTIALLY_REFUNDED',
  'REFUNDED>SUCCEEDED',
  // Money for a closed payment when no other payment of the order holds or awaits money.
  'FAILED>SUCCEEDED',
  'EXPIRED>SUCCEEDED',
  'CANCELED>SUCCEEDED',
]);

describe('payment state machine', () => {
  it('knows the seven statuses of the API', () => {
    assert.deepEqual([...paymentStatuses].sort(), [
      'CANCELED',
      'EXPIRED',
      'FAILED',
      'PARTIALLY_REFUNDED',
      'PENDING',
      'REFUNDED',
      'SUCCEEDED',
    ]);
    assert.ok(isPaymentStatus('REFUNDED'));
    assert.ok(!isPaymentStatus('PAID'));
    assert.ok(!isPaymentStatus('pending'));
  });

  for (const from of paymentStatuses) {
    for (const to of paymentStatuses) {
      const want = allowed.has(`${from}>${to}`);
      it(`${from} -> ${to}: ${want ? 'allowed' : 'refused'}`, () => {
        const result = transitionPayment(from, to);
        if (want) assert.deepEqual(result, { ok: true, from, to });
        else assert.deepEqual(result, { ok: false, error: 'invalid_transition', from, to });
      });
    }
  }

  it('has exactly the moves written out above in its table', () => {
    const moves = paymentStatuses.flatMap((from) => paymentTransitions[from].map((to) => `${from}>${to}`));
    assert.deepEqual(moves.sort(), [...allowed].sort());
  });

  it('names the captured and the money-holding (unique index) statuses', () => {
    assert.deepEqual([...capturedStatuses].sort(), ['PARTIALLY_REFUNDED', 'REFUNDED', 'SUCCEEDED']);
    assert.deepEqual([...activeStatuses].sort(), ['PARTIALLY_REFUNDED', 'PENDING', 'REFUNDED', 'SUCCEEDED']);
  });

  it('property: once money is captured the payment never leaves the captured statuses, nor returns to PENDING', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...paymentStatuses), { maxLength: 40 }), (targets) => {
        let status: PaymentStatus = 'PENDING';
        let captured = false;
        for (const to of targets) {
          const result = transitionPayment(status, to);
          if (!result.ok) continue;
          assert.equal(result.from, status);
          status = result.to;
          assert.notEqual(status, 'PENDING', 'nothing goes back to PENDING');
          if (capturedStatuses.includes(status)) captured = true;
          else assert.ok(!captured, `captured money then ${status}`);
        }
      }),
    );
  });
});
