import type { PaymentFact } from './facts.ts';
import type { PaymentOutcome } from './outcome.ts';
import { capturedStatuses } from './payment-status.ts';
import type { PaymentRow } from './payments.repository.ts';

/**
 * What a fact decides about a payment read WITHOUT a lock, when that decision cannot change under any concurrent
 * transaction: the fact changes nothing, so it needs no lock, no write and no transaction of its own (issue 11: a
 * repeated confirmation costs one read). Undefined when the fact may change something: the locked path decides.
 *
 * Stable because statuses only move forward where it matters here: a captured payment (SUCCEEDED, PARTIALLY_REFUNDED,
 * REFUNDED) never leaves the captured statuses, and nothing ever goes back to PENDING (payment-status.ts); a payment
 * intent id, once recorded, is never removed. The outcome names the status read, as the locked path would.
 */
export function outcomeWithoutChange(fact: PaymentFact, payment: PaymentRow): PaymentOutcome | undefined {
  const { status } = payment;
  switch (fact.kind) {
    case 'paid':
      // Money for a captured payment whose intent is known: a repeat (the locked path would only fill the intent).
      if (!capturedStatuses.includes(status)) return undefined;
      if (payment.gateway_payment_intent_id === null && fact.paymentIntentId !== null) return undefined;
      return { kind: 'duplicate', of: 'status', status };
    case 'processing':
      if (status !== 'PENDING') return { kind: 'ignored', fact: 'processing', status };
      // Told once already (the intent is recorded): whatever happens to the payment meanwhile, nothing to write.
      return fact.paymentIntentId === null || payment.gateway_payment_intent_id !== null
        ? { kind: 'duplicate', of: 'processing' }
        : undefined;
    case 'declined':
      return status === 'PENDING' ? undefined : { kind: 'ignored', fact: 'declined', status };
    case 'failed':
      if (status === 'PENDING') return undefined;
      return status === 'FAILED'
        ? { kind: 'duplicate', of: 'status', status }
        : { kind: 'ignored', fact: 'failed', status };
    case 'expired':
      if (status === 'PENDING') return undefined;
      return status === 'EXPIRED' || status === 'CANCELED'
        ? { kind: 'duplicate', of: 'status', status }
        : { kind: 'ignored', fact: 'expired', status };
    case 'open':
      return { kind: 'open' };
    case 'refund_total':
      return {
        kind: 'refund_total',
        reported: { amount: fact.amountRefunded, currency: fact.currency },
        here: { amount: payment.refunded_amount, currency: payment.currency },
      };
    case 'canceled':
    case 'resolve':
    case 'refund':
      return undefined;
  }
}
