import type { Currency } from '../../../shared/money.ts';
import type { PaymentFact, RefundFact } from '../facts.ts';

export type ProviderName = 'stripe' | 'manual';

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

/**
 * One payment method. A third provider is a new file implementing this and a line in providers/index.ts.
 * Every method that changes something at the gateway is idempotent on Fulcrum's id (payment or refund),
 * so a retry after a lost answer never does it twice.
 */
export interface PaymentProvider {
  readonly name: ProviderName;
  createCheckout(request: CheckoutRequest): Promise<CheckoutCreated>;
  /** The payment's state at the gateway now, or null when there is nobody to ask. */
  lookup(ref: { paymentId: string; sessionId: string }): Promise<PaymentFact | null>;
  /** Closes an open checkout; 'not_open' when it was already completed or expired. */
  expireCheckout(sessionId: string): Promise<'expired' | 'not_open'>;
  refund(request: RefundRequest): Promise<RefundFact>;
  /** The refund's state at the gateway now, or null when there is nobody to ask. */
  lookupRefund(gatewayRefundId: string): Promise<RefundFact | null>;
  /**
   * The gateway's events after `cursor`, oldest first, and the cursor to save (null cursor: the last
   * `since`). For providers with an event log; reconciliation feeds them into the inbox.
   */
  listEvents?: (cursor: string | null, since: Date) => Promise<{ events: GatewayEvent[]; cursor: string | null }>;
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
  constructor(kind: 'unavailable' | 'rejected', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.kind = kind;
  }
}
