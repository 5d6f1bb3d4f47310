/* eslint-disable max-lines -- over 300 lines; to split (issue 14, point 5) */
import Stripe from 'stripe';
import type { RefundFact } from '../facts.ts';
import { factOfEvent, handledEventTypes, refundFact, sessionFact } from './stripe-events.ts';
import {
  GatewayError,
  type CheckoutRequest,
  type GatewayEvent,
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
      keyConflict: error instanceof Stripe.errors.StripeIdempotencyError,
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

/**
 * The gateway says the checkout session does not exist (404 `resource_missing`). Nothing can be paid through a
 * session the gateway does not have, so this is an answer, not an outage. Stripe answers the same 404 when the
 * session lives in the other mode ("a similar object exists in live mode"): that is a misconfigured key, so it is
 * left to look like an outage rather than closing every payment.
 */
export function isMissingSession(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === 'resource_missing' &&
    error.statusCode === 404 &&
    !/similar object exists/i.test(error.message)
  );
}

const MINUTE = 60_000;
/** Why a payment whose checkout session the gateway does not know was closed. */
export const MISSING_SESSION = 'checkout_session_missing';

/** Stripe, or the sandbox standing in for it. */
export const stripeProvider: ProviderDefinition = {
  name: 'stripe',
  create: ({ stripe, webhookSecret, clock }) =>
    createStripeProvider(stripe, webhookSecret, () => clock.now().getTime()),
};

// eslint-disable-next-line max-lines-per-function -- over 80 lines; to split (issue 14, point 5)
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

    verifyWebhook(raw, signature) {
      if (webhookSecret === undefined) throw new Error('no webhook secret configured');
      const event = verifyStripeEvent(stripe, raw, signature, webhookSecret, nowMs());
      return { eventId: event.id, type: event.type };
    },

    translateEvent: (payload) => factOfEvent(payload as Stripe.Event),
  };
}

const MAX_EVENT_PAGES = 10;
const PAGE = 100;
const asEvent = (e: Stripe.Event): GatewayEvent => ({ id: e.id, type: e.type, payload: JSON.stringify(e) });

/**
 * Where the event log was read up to: `after`, the newest event taken (the next call reads what is newer);
 * `backfill`, while the first read of the time window is unfinished: older events of the window, before
 * (older than) `before`, are still to be read. Saved as the bare event id when there is no backfill.
 */
interface EventCursor {
  after: string;
  backfill?: { before: string; gte: number };
}

function parseCursor(cursor: string | null): EventCursor | null {
  if (cursor === null) return null;
  if (!cursor.startsWith('{')) return { after: cursor };
  try {
    const parsed = JSON.parse(cursor) as EventCursor;
    return typeof parsed.after === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

const formatCursor = (c: EventCursor): string => (c.backfill === undefined ? c.after : JSON.stringify(c));

/** A cursor event Stripe no longer knows (older than 30 days): a 400/404 invalid request. */
const isGoneCursor = (error: unknown): boolean => error instanceof Stripe.errors.StripeInvalidRequestError;

/**
 * Events newer than the cursor (Stripe's `ending_before` pages: each the 100 events just newer, newest
 * first), then — while the first read of the window is unfinished — older ones of the window, at most
 * 1,000 per call in all; the next call continues from the returned cursor. Without a cursor, or when
 * Stripe no longer knows its event (30 days), the window since `since` is read newest first, and what did
 * not fit in this call is read by the next ones (the backfill), so no event of the window is skipped.
 */
export async function listEventsSince(
  stripe: Pick<Stripe, 'events'>,
  cursor: string | null,
  since: Date,
): Promise<{ events: GatewayEvent[]; cursor: string | null }> {
  const types = [...handledEventTypes];
  let pages = 0;
  const newer: Stripe.Event[] = [];
  const older: Stripe.Event[] = []; // newest first
  let state = parseCursor(cursor);

  try {
    if (state !== null) {
      let before = state.after;
      try {
        while (pages < MAX_EVENT_PAGES) {
          pages += 1;
          const list = await stripe.events.list({ ending_before: before, limit: PAGE, types });
          const [newest] = list.data;
          if (newest === undefined) break;
          newer.push(...[...list.data].reverse());
          before = newest.id;
          if (!list.has_more) break;
        }
        state = { ...state, after: before };
      } catch (error) {
        if (!isGoneCursor(error) || newer.length > 0) throw error;
        state = null; // the cursor's event is gone: start again from the time window
      }
    }

    if (state === null) {
      // The window, newest first; its newest event is where the next call reads on from.
      const gte = Math.floor(since.getTime() / 1000);
      let hasMore = true;
      while (hasMore && pages < MAX_EVENT_PAGES) {
        pages += 1;
        const last = older.at(-1);
        const list = await stripe.events.list({
          created: { gte },
          limit: PAGE,
          types,
          ...(last === undefined ? {} : { starting_after: last.id }),
        });
        older.push(...list.data);
        hasMore = list.has_more && list.data.length > 0;
      }
      const [newest] = older;
      const oldest = older.at(-1);
      if (newest === undefined || oldest === undefined) return { events: [], cursor: null };
      state = { after: newest.id, ...(hasMore ? { backfill: { before: oldest.id, gte } } : {}) };
    } else if (state.backfill !== undefined && pages < MAX_EVENT_PAGES) {
      let { before } = state.backfill;
      const { gte } = state.backfill;
      let hasMore = true;
      try {
        while (hasMore && pages < MAX_EVENT_PAGES) {
          pages += 1;
          const list = await stripe.events.list({ created: { gte }, limit: PAGE, types, starting_after: before });
          older.push(...list.data);
          before = list.data.at(-1)?.id ?? before;
          hasMore = list.has_more && list.data.length > 0;
        }
      } catch (error) {
        if (!isGoneCursor(error) || older.length > 0) throw error;
        hasMore = false; // its event is gone, and so is everything older: nothing left to backfill
      }
      state = { after: state.after, ...(hasMore ? { backfill: { before, gte } } : {}) };
    }
  } catch (error) {
    throw toGatewayError(error, 'list events');
  }
  return { events: [...older.reverse(), ...newer].map(asEvent), cursor: formatCursor(state) };
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
