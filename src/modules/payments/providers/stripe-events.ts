import type Stripe from 'stripe';
import type { PaymentFact, PaymentRef, RefundFact, RefundFactStatus } from '../facts.ts';
import type { EventTranslation } from './types.ts';

// Stripe objects → Fulcrum facts. Pure: no I/O.

/** The event types Fulcrum acts on; anything else is stored and marked ignored. */
export const handledEventTypes = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
  'refund.created',
  'refund.updated',
  'refund.failed',
] as const;

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : value.id;

const metaPaymentId = (metadata: Stripe.Metadata | null | undefined): string | null => {
  const id = metadata?.paymentId;
  return typeof id === 'string' && id.startsWith('pay_') ? id : null;
};

export function sessionRef(session: Stripe.Checkout.Session): PaymentRef {
  return {
    paymentId: metaPaymentId(session.metadata),
    sessionId: session.id,
    paymentIntentId: idOf(session.payment_intent),
  };
}

/** What a Checkout Session says now: paid, processing (completed but unpaid), expired or still open. */
export function sessionFact(session: Stripe.Checkout.Session): PaymentFact {
  const ref = sessionRef(session);
  if (session.status === 'expired') return { kind: 'expired', ref };
  if (session.status === 'complete') {
    if (session.payment_status === 'unpaid') return { kind: 'processing', ref, paymentIntentId: ref.paymentIntentId };
    return {
      kind: 'paid',
      ref,
      amount: session.amount_total ?? 0,
      currency: session.currency ?? '',
      paymentIntentId: ref.paymentIntentId,
    };
  }
  return { kind: 'open', ref };
}

export function refundStatusOf(status: string | null): RefundFactStatus {
  if (status === 'succeeded') return 'SUCCEEDED';
  if (status === 'failed' || status === 'canceled') return 'FAILED';
  return 'PENDING'; // pending, requires_action
}

export function refundFact(refund: Stripe.Refund): RefundFact {
  const refundId = refund.metadata?.refundId;
  return {
    gatewayRefundId: refund.id,
    refundId: typeof refundId === 'string' && refundId.startsWith('ref_') ? refundId : null,
    amount: refund.amount,
    currency: refund.currency,
    status: refundStatusOf(refund.status),
    reason: refund.reason,
    failureReason: refund.failure_reason ?? null,
  };
}

function declineReason(error: Stripe.PaymentIntent.LastPaymentError | null): string {
  if (error === null) return 'payment_failed';
  const code = error.code ?? error.type;
  return error.decline_code === undefined || error.decline_code === null ? code : `${code}: ${error.decline_code}`;
}

export type Translation = EventTranslation;

/** One Stripe event as a fact, or why it is ignored. */
export function factOfEvent(event: Stripe.Event): Translation {
  if (
    event.type === 'checkout.session.completed' ||
    event.type === 'checkout.session.async_payment_succeeded' ||
    event.type === 'checkout.session.async_payment_failed' ||
    event.type === 'checkout.session.expired'
  ) {
    return { fact: factOfSessionEvent(event.type, event.data.object) };
  }
  if (event.type === 'payment_intent.succeeded' || event.type === 'payment_intent.payment_failed') {
    const intent = event.data.object;
    const ref = { paymentId: metaPaymentId(intent.metadata), sessionId: null, paymentIntentId: intent.id };
    if (event.type === 'payment_intent.payment_failed') {
      return { fact: { kind: 'declined', ref, reason: declineReason(intent.last_payment_error ?? null) } };
    }
    return {
      fact: {
        kind: 'paid',
        ref,
        amount: intent.amount_received,
        currency: intent.currency,
        paymentIntentId: intent.id,
      },
    };
  }
  if (event.type === 'charge.refunded') {
    const charge = event.data.object;
    const ref = {
      paymentId: metaPaymentId(charge.metadata),
      sessionId: null,
      paymentIntentId: idOf(charge.payment_intent),
    };
    return { fact: { kind: 'refund_total', ref, amountRefunded: charge.amount_refunded, currency: charge.currency } };
  }
  if (event.type === 'refund.created' || event.type === 'refund.updated' || event.type === 'refund.failed') {
    const refund = event.data.object;
    const ref = {
      paymentId: metaPaymentId(refund.metadata),
      sessionId: null,
      paymentIntentId: idOf(refund.payment_intent),
    };
    return { fact: { kind: 'refund', ref, refund: refundFact(refund) } };
  }
  return { ignored: `ignored: ${event.type} is not handled` };
}

type SessionEventType =
  | 'checkout.session.completed'
  | 'checkout.session.async_payment_succeeded'
  | 'checkout.session.async_payment_failed'
  | 'checkout.session.expired';

function factOfSessionEvent(type: SessionEventType, session: Stripe.Checkout.Session): PaymentFact {
  const ref = sessionRef(session);
  switch (type) {
    case 'checkout.session.completed':
      return sessionFact(session);
    case 'checkout.session.async_payment_succeeded':
      // The event itself says the money arrived, whatever the snapshot's payment_status.
      return {
        kind: 'paid',
        ref,
        amount: session.amount_total ?? 0,
        currency: session.currency ?? '',
        paymentIntentId: ref.paymentIntentId,
      };
    case 'checkout.session.async_payment_failed':
      return { kind: 'failed', ref, reason: 'async_payment_failed' };
    case 'checkout.session.expired':
      return { kind: 'expired', ref };
  }
}
