import Stripe from 'stripe';
import type { RefundFact } from '../facts.ts';
import { call, isMissingSession, isNotOpen, MISSING_SESSION, toGatewayError } from './stripe-errors.ts';
import { factOfEvent, refundFact, sessionFact } from './stripe-events.ts';
import { listEventsSince } from './stripe-feed.ts';
import {
  GatewayError,
  type CheckoutRequest,
  type PaymentProvider,
  type ProviderDefinition,
  type RefundRequest,
} from './types.ts';

export interface StripeClientOptions {
  /** `sk_test_…`/`sk_live_…`; the sandbox accepts any `sk_test_` key. */
  secretKey: string;
  /** A Stripe-compatible server (the sandbox): `http://127.0.0.1:12111`. Unset: api.stripe.com. */
  apiBase?: string | undefined;
  timeoutMs?: number;
  maxNetworkRetries?: number;
}

/** The SDK client; only src/modules/payments talks to it. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase === undefined ? undefined : new URL(options.apiBase);
  const protocol = base?.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(options.secretKey, {
    ...(base === undefined
      ? {}
      : {
          host: base.hostname,
          port: base.port === '' ? (protocol === 'http' ? 80 : 443) : Number(base.port),
          protocol,
        }),
    telemetry: false,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 10_000,
  });
}

const MINUTE = 60_000;
/** Stripe, or the sandbox standing in for it. */
export const stripeProvider: ProviderDefinition = {
  name: 'stripe',
  create: ({ stripe, webhookSecret, clock }) =>
    createStripeProvider(stripe, webhookSecret, () => clock.now().getTime()),
};

export function createStripeProvider(
  stripe: Stripe,
  webhookSecret?: string,
  nowMs: () => number = Date.now,
): PaymentProvider {
  return {
    name: 'stripe',
    hostedCheckout: true,
    // Stripe accepts expires_at from 30 minutes to 24 hours ahead; a minute's margin each side absorbs clock skew.
    checkoutWindow: { minMs: 31 * MINUTE, maxMs: 24 * 60 * MINUTE - MINUTE },

    createCheckout: (request) => createCheckoutSession(stripe, request),

    async lookup({ paymentId, sessionId }) {
      let session: Stripe.Checkout.Session;
      try {
        session = await stripe.checkout.sessions.retrieve(sessionId);
      } catch (error) {
        if (!isMissingSession(error)) throw toGatewayError(error, 'retrieve checkout session');
        const ref = { paymentId, sessionId, paymentIntentId: null };
        return { kind: 'failed', ref, reason: MISSING_SESSION };
      }
      return sessionFact(session);
    },

    async expireCheckout(sessionId) {
      try {
        await stripe.checkout.sessions.expire(sessionId, {}, { idempotencyKey: `expire:${sessionId}` });
        return 'expired';
      } catch (error) {
        // Missing: nothing to close; the look-up that follows 'not_open' closes the payment.
        if (isNotOpen(error) || isMissingSession(error)) return 'not_open';
        throw toGatewayError(error, 'expire checkout session');
      }
    },

    refund: (request) => createRefund(stripe, request),

    async lookupRefund(gatewayRefundId) {
      return refundFact(await call('retrieve refund', () => stripe.refunds.retrieve(gatewayRefundId)));
    },

    listEvents: (cursor, since) => listEventsSince(stripe, cursor, since),

    verifyWebhook(raw, signature) {
      if (webhookSecret === undefined) throw new Error('no webhook secret configured');
      const event = verifyStripeEvent(stripe, raw, signature, webhookSecret, nowMs());
      // The SDK parsed the body to verify it: the route checks that parse rather than parsing the bytes again.
      return { eventId: event.id, type: event.type, event };
    },

    translateEvent: (payload) => factOfEvent(payload as Stripe.Event),
  };
}

/** A Checkout Session for the payment, under the idempotency key `checkout:<payment id>`. */
async function createCheckoutSession(
  stripe: Stripe,
  request: CheckoutRequest,
): Promise<{ sessionId: string | null; url: string | null }> {
  const metadata = { orderId: request.orderId, paymentId: request.paymentId };
  const session = await call('create checkout session', () =>
    stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: request.lines.map((line) => ({
          quantity: line.quantity,
          price_data: {
            currency: request.currency,
            unit_amount: line.unitAmount,
            product_data: { name: line.name },
          },
        })),
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
        client_reference_id: request.orderId,
        ...(request.customerEmail === null ? {} : { customer_email: request.customerEmail }),
        metadata,
        payment_intent_data: { metadata },
        expires_at: Math.floor(request.expiresAt.getTime() / 1000),
      },
      // The payment id as the key: a retry (SDK, client, reconciliation) never makes a second session.
      { idempotencyKey: `checkout:${request.paymentId}` },
    ),
  );
  return { sessionId: session.id, url: session.url };
}

/** A refund of the payment's intent, under the idempotency key `refund:<refund id>`. */
async function createRefund(stripe: Stripe, request: RefundRequest): Promise<RefundFact> {
  const paymentIntent = request.paymentIntentId;
  if (paymentIntent === null) throw new GatewayError('rejected', 'refund: the payment has no payment intent');
  const refund = await call('create refund', () =>
    stripe.refunds.create(
      {
        payment_intent: paymentIntent,
        amount: request.amount,
        ...(isStripeReason(request.reason) ? { reason: request.reason } : {}),
        metadata: { refundId: request.refundId, paymentId: request.paymentId },
      },
      { idempotencyKey: `refund:${request.refundId}` },
    ),
  );
  return refundFact(refund);
}

const stripeReasons = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;
function isStripeReason(reason: string | null): reason is (typeof stripeReasons)[number] {
  return (stripeReasons as readonly (string | null)[]).includes(reason);
}

/** Verifies a webhook over the exact bytes received; throws on a missing, wrong or stale (> 300 s) signature. */
export function verifyStripeEvent(
  stripe: Stripe,
  raw: Buffer,
  signature: string | undefined,
  secret: string,
  nowMs?: number,
): Stripe.Event {
  if (signature === undefined || signature === '') throw new Error('missing signature');
  return stripe.webhooks.constructEvent(raw, signature, secret, 300, undefined, nowMs);
}
