import type Stripe from 'stripe';
import type { Clock } from '../../../shared/clock.ts';
import type { Currency } from '../../../shared/money.ts';
import type { PaymentFact, RefundFact } from '../facts.ts';

/** A provider's name (the runtime's set: providers/provider-set.ts; the database stores it as text). */
export type ProviderName = string;

export interface CheckoutLine {
  name: string;
  quantity: number;
  /** Minor units. */
  unitAmount: number;
}

/** Everything a checkout needs; a pure function of the stored payment and order, so a retry sends the same. */
export interface CheckoutRequest {
  paymentId: string;
  orderId: string;
  amount: number;
  currency: Currency;
  lines: CheckoutLine[];
  customerEmail: string | null;
  expiresAt: Date;
  successUrl: string;
  cancelUrl: string;
}

export interface CheckoutCreated {
  sessionId: string | null;
  url: string | null;
}

export interface RefundRequest {
  refundId: string;
  paymentId: string;
  paymentIntentId: string | null;
  amount: number;
  currency: string;
  reason: string | null;
}

/** What an event stored in the inbox under a provider's name means: a fact to apply, or why it is ignored. */
export type EventTranslation = { fact: PaymentFact } | { ignored: string };

/**
 * One payment method. A third provider is a new file implementing this, passed to `createPaymentsRuntime({ providers })`
 * (or added to `defaultProviders` in providers/provider-set.ts).
 * Every method that changes something at the gateway is idempotent on Fulcrum's id (payment or refund),
 * so a retry after a lost answer never does it twice.
 */
export interface PaymentProvider {
  readonly name: ProviderName;
  /**
   * True: checkout opens a session at the gateway (phase 2), and a PENDING payment without a session id is
   * unfinished — checkout and reconciliation resume it under the same idempotency key. False: there is no
   * session to open (the manual provider).
   */
  readonly hostedCheckout: boolean;
  /**
   * The lifetimes the gateway accepts for a checkout session, when it takes one: the payment stores its
   * session's `expires_at` (the order's expiry clamped to this) so that every retry sends the same.
   */
  readonly checkoutWindow?: { minMs: number; maxMs: number };
  createCheckout(request: CheckoutRequest): Promise<CheckoutCreated>;
  /**
   * The payment's state at the gateway now, or null when there is nobody to ask. A session the gateway says does
   * not exist is a `failed` fact (nothing can be paid through it), never an error.
   */
  lookup(ref: { paymentId: string; sessionId: string }): Promise<PaymentFact | null>;
  /** Closes an open checkout; 'not_open' when it was already completed or expired, or the gateway has no such session. */
  expireCheckout(sessionId: string): Promise<'expired' | 'not_open'>;
  refund(request: RefundRequest): Promise<RefundFact>;
  /** The refund's state at the gateway now, or null when there is nobody to ask. */
  lookupRefund(gatewayRefundId: string): Promise<RefundFact | null>;
  /**
   * The gateway's events after `cursor`, oldest first, and the cursor to save (null cursor: the last
   * `since`). For providers with an event log; reconciliation feeds them into the inbox.
   */
  listEvents?: (cursor: string | null, since: Date) => Promise<{ events: GatewayEvent[]; cursor: string | null }>;
  /** For providers that post webhooks: checks one over the exact bytes received; throws when it is not genuine. */
  verifyWebhook?: (raw: Buffer, signature: string | undefined) => VerifiedWebhook;
  /** What an event stored in the inbox under this provider's name means (webhooks and `listEvents`). */
  translateEvent?: (payload: unknown) => EventTranslation;
}

/** What the payments runtime hands a provider's factory. */
export interface ProviderContext {
  /** The SDK client (real Stripe or the sandbox). */
  stripe: Stripe;
  /** The secret Stripe webhooks are signed with; undefined: every webhook is refused. */
  webhookSecret: string | undefined;
  clock: Clock;
}

/** One provider of the runtime's set: its name and how to build it. */
export interface ProviderDefinition {
  readonly name: ProviderName;
  create(context: ProviderContext): PaymentProvider;
}

export interface GatewayEvent {
  id: string;
  type: string;
  /** The event as JSON text, stored in the inbox like a webhook's body. */
  payload: string;
}

/**
 * A gateway call that did not do what was asked. `unavailable`: no answer, a timeout, a 5xx, a rate limit —
 * the outcome is unknown, so the caller leaves things for reconciliation. `rejected`: the gateway said no.
 */
export class GatewayError extends Error {
  readonly kind: 'unavailable' | 'rejected';
  /**
   * A rejection because the idempotency key was used before with other parameters: something may exist
   * under that key, so this is not a proof that nothing was done.
   */
  readonly keyConflict: boolean;
  constructor(kind: 'unavailable' | 'rejected', message: string, options?: { cause?: unknown; keyConflict?: boolean }) {
    super(message, options);
    this.name = 'GatewayError';
    this.kind = kind;
    this.keyConflict = options?.keyConflict ?? false;
  }
}

/** The gateway refused the request itself (not a reused key), so nothing exists under its idempotency key. */
export function refusedOutright(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.kind === 'rejected' && !error.keyConflict;
}

/** A webhook whose signature verified: its id and type, and the body as the verification parsed it (JSON). */
export interface VerifiedWebhook {
  eventId: string;
  type: string;
  /** Not yet checked to be a well-formed event: the webhook route does that before storing it. */
  event: unknown;
}
