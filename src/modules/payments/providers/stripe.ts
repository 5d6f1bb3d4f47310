import Stripe from 'stripe';
import type { RefundFact } from '../facts.ts';
import { handledEventTypes, refundFact, sessionFact } from './stripe-events.ts';
import {
  GatewayError,
  type CheckoutRequest,
  type GatewayEvent,
  type PaymentProvider,
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

/** Our taxonomy of the SDK's errors: only a definite "no" from the gateway is a rejection. */
export function toGatewayError(error: unknown, what: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (
    error instanceof Stripe.errors.StripeInvalidRequestError ||
    error instanceof Stripe.errors.StripeCardError ||
    error instanceof Stripe.errors.StripeIdempotencyError
  ) {
    return new GatewayError('rejected', `${what}: rejected by the gateway (${error.code ?? error.type})`, {
      cause: error,
    });
  }
  // Connection errors, timeouts, 5xx, 409 in-flight, rate limits, bad keys: the outcome is unknown or temporary.
  return new GatewayError('unavailable', `${what}: gateway unavailable`, { cause: error });
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toGatewayError(error, what);
  }
}

function isNotOpen(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && /status/i.test(error.message);
}

export function createStripeProvider(stripe: Stripe): PaymentProvider {
  return {
    name: 'stripe',

    async createCheckout(request: CheckoutRequest) {
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
    },

    async lookup({ sessionId }) {
      const session = await call('retrieve checkout session', () => stripe.checkout.sessions.retrieve(sessionId));
      return sessionFact(session);
    },

    async expireCheckout(sessionId) {
      try {
        await stripe.checkout.sessions.expire(sessionId, {}, { idempotencyKey: `expire:${sessionId}` });
        return 'expired';
      } catch (error) {
        if (isNotOpen(error)) return 'not_open';
        throw toGatewayError(error, 'expire checkout session');
      }
    },

    async refund(request: RefundRequest): Promise<RefundFact> {
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
    },

    async lookupRefund(gatewayRefundId) {
      return refundFact(await call('retrieve refund', () => stripe.refunds.retrieve(gatewayRefundId)));
    },

    listEvents: (cursor, since) => listEventsSince(stripe, cursor, since),
  };
}

const MAX_EVENT_PAGES = 10;
const asEvent = (e: Stripe.Event): GatewayEvent => ({ id: e.id, type: e.type, payload: JSON.stringify(e) });

/**
 * Events newer than `cursor` (Stripe's `ending_before` pages: each the 100 events just newer, newest
 * first), at most 1,000 per call; the next call continues from the returned cursor. Without a cursor, or
 * when Stripe no longer knows it (30 days), the events since `since`.
 */
async function listEventsSince(
  stripe: Stripe,
  cursor: string | null,
  since: Date,
): Promise<{ events: GatewayEvent[]; cursor: string | null }> {
  const types = [...handledEventTypes];
  const out: Stripe.Event[] = [];
  if (cursor !== null) {
    let before = cursor;
    try {
      for (let page = 0; page < MAX_EVENT_PAGES; page += 1) {
        const list = await stripe.events.list({ ending_before: before, limit: 100, types });
        const [newest] = list.data;
        if (newest === undefined) break;
        out.push(...[...list.data].reverse());
        before = newest.id;
        if (!list.has_more) break;
      }
      return { events: out.map(asEvent), cursor: before };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || out.length > 0) {
        throw toGatewayError(error, 'list events');
      }
      // The cursor's event is gone: start again from the time window.
    }
  }
  const gte = Math.floor(since.getTime() / 1000);
  try {
    for await (const event of stripe.events.list({ created: { gte }, limit: 100, types })) {
      out.push(event);
      if (out.length >= MAX_EVENT_PAGES * 100) break;
    }
  } catch (error) {
    throw toGatewayError(error, 'list events');
  }
  const oldestFirst = out.reverse();
  return { events: oldestFirst.map(asEvent), cursor: oldestFirst.at(-1)?.id ?? null };
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
