import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeOutcome, type PaymentOutcome } from './outcome.ts';

// The stored wording of every outcome (webhook_inbox.outcome; docs/api.md and docs/operations.md quote some of it),
// written out by hand. The mapped type makes a new kind without an example here a type error.
const examples: { [K in PaymentOutcome['kind']]: [Extract<PaymentOutcome, { kind: K }>, string][] } = {
  unknown_payment: [[{ kind: 'unknown_payment' }, 'ignored: unknown payment']],
  ignored: [
    [{ kind: 'ignored', fact: 'processing', status: 'SUCCEEDED' }, 'ignored: processing, payment already SUCCEEDED'],
    [{ kind: 'ignored', fact: 'declined', status: 'EXPIRED' }, 'ignored: decline, payment already EXPIRED'],
    [{ kind: 'ignored', fact: 'failed', status: 'SUCCEEDED' }, 'ignored: late failure, payment is SUCCEEDED'],
    [{ kind: 'ignored', fact: 'expired', status: 'REFUNDED' }, 'ignored: expiry, payment is REFUNDED'],
    [{ kind: 'ignored', fact: 'canceled', status: 'FAILED' }, 'ignored: cancel, payment is FAILED'],
  ],
  duplicate: [
    [{ kind: 'duplicate', of: 'status', status: 'SUCCEEDED' }, 'duplicate: already SUCCEEDED'],
    [{ kind: 'duplicate', of: 'status', status: 'FAILED' }, 'duplicate: already FAILED'],
    [
      { kind: 'duplicate', of: 'held_money', status: 'PENDING' },
      'duplicate: money already recorded on the PENDING payment',
    ],
    [{ kind: 'duplicate', of: 'processing' }, 'duplicate: processing already recorded'],
    [{ kind: 'duplicate', of: 'decline' }, 'duplicate: decline already recorded'],
    [
      { kind: 'duplicate', of: 'refund', refundId: 'ref_1', status: 'SUCCEEDED' },
      'duplicate: refund ref_1 already SUCCEEDED',
    ],
  ],
  processing: [[{ kind: 'processing' }, 'processing: waiting for the asynchronous payment']],
  declined: [
    [
      { kind: 'declined', reason: 'card_declined: insufficient_funds' },
      'decline recorded (card_declined: insufficient_funds); payment stays PENDING',
    ],
  ],
  closed: [
    [{ kind: 'closed', to: 'FAILED' }, 'PENDING -> FAILED'],
    [{ kind: 'closed', to: 'EXPIRED' }, 'PENDING -> EXPIRED'],
  ],
  canceled: [[{ kind: 'canceled', reason: 'order is CANCELLED' }, 'PENDING -> CANCELED (order is CANCELLED)']],
  open: [[{ kind: 'open' }, 'open: nothing to do']],
  flagged: [
    [
      { kind: 'flagged', reason: 'received 2500 usd, expected 3000 usd' },
      'flagged: received 2500 usd, expected 3000 usd',
    ],
  ],
  paid: [
    [{ kind: 'paid', from: 'PENDING' }, 'PENDING -> SUCCEEDED; order CREATED -> PAID'],
    [{ kind: 'paid', from: 'EXPIRED' }, 'EXPIRED -> SUCCEEDED; order CREATED -> PAID'],
  ],
  paid_closed_order: [
    [
      { kind: 'paid_closed_order', from: 'CANCELED', order: 'CANCELLED', refundId: 'ref_2' },
      'CANCELED -> SUCCEEDED for a CANCELLED order; refund ref_2 issued',
    ],
    [
      { kind: 'paid_closed_order', from: 'PENDING', order: 'PAID', refundId: null },
      'PENDING -> SUCCEEDED for a PAID order; nothing left to refund',
    ],
  ],
  held_money_refunded: [
    [
      {
        kind: 'held_money_refunded',
        from: 'EXPIRED',
        to: 'EXPIRED',
        money: { amount: 2500, currency: 'usd' },
        why: 'duplicate_payment',
        refundId: 'ref_3',
      },
      'EXPIRED; 2500 usd recorded and refunded as ref_3 (duplicate_payment)',
    ],
    [
      {
        kind: 'held_money_refunded',
        from: 'PENDING',
        to: 'CANCELED',
        money: { amount: 100, currency: 'eur' },
        why: 'order_cancelled',
        refundId: null,
      },
      'PENDING -> CANCELED; money recorded, nothing to refund',
    ],
  ],
  flag_refunded: [
    [{ kind: 'flag_refunded', refundId: 'ref_4' }, 'PENDING -> CANCELED; flagged money refunded as ref_4'],
    [{ kind: 'flag_refunded', refundId: null }, 'PENDING -> CANCELED; nothing to refund'],
  ],
  refund: [
    [
      {
        kind: 'refund',
        change: { kind: 'recorded', refundId: 'ref_5', status: 'PENDING' },
        flagged: false,
        payment: null,
      },
      'refund ref_5 recorded from the gateway as PENDING',
    ],
    [
      {
        kind: 'refund',
        change: { kind: 'moved', refundId: 'ref_6', from: 'PENDING', to: 'SUCCEEDED' },
        flagged: false,
        payment: { from: 'SUCCEEDED', to: 'REFUNDED' },
      },
      'refund ref_6 PENDING -> SUCCEEDED; payment SUCCEEDED -> REFUNDED',
    ],
    [
      {
        kind: 'refund',
        change: { kind: 'moved', refundId: 'ref_7', from: 'SUCCEEDED', to: 'FAILED' },
        flagged: true,
        payment: { from: 'REFUNDED', to: 'SUCCEEDED' },
      },
      'refund ref_7 SUCCEEDED -> FAILED; flagged for an admin; payment REFUNDED -> SUCCEEDED',
    ],
    [
      { kind: 'refund', change: { kind: 'linked', refundId: 'ref_8' }, flagged: false, payment: null },
      'refund ref_8 linked',
    ],
  ],
  refund_total: [
    [
      { kind: 'refund_total', reported: { amount: 2500, currency: 'usd' }, here: { amount: 1000, currency: 'usd' } },
      'noted: gateway reports 2500 usd refunded, succeeded refunds here 1000 usd',
    ],
  ],
  unknown_provider: [[{ kind: 'unknown_provider', provider: 'paypal' }, 'ignored: unknown provider paypal']],
  event_ignored: [
    [
      { kind: 'event_ignored', why: 'ignored: customer.created is not handled' },
      'ignored: customer.created is not handled',
    ],
  ],
};

describe('payment outcomes: one rendering to the stored text', () => {
  for (const [kind, cases] of Object.entries(examples)) {
    it(`${kind}: renders the wording the inbox has always stored`, () => {
      for (const [outcome, text] of cases as [PaymentOutcome, string][]) {
        assert.equal(describeOutcome(outcome), text);
      }
    });
  }

  it('renders different outcomes differently (the text keeps what was decided)', () => {
    const texts = Object.values(examples).flatMap((cases) =>
      (cases as [PaymentOutcome, string][]).map(([o]) => describeOutcome(o)),
    );
    assert.equal(new Set(texts).size, texts.length);
  });
});
