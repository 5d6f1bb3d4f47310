// What a gateway (or an admin, for manual payments) tells Fulcrum about a payment, in Fulcrum's words.
// Webhook events, gateway look-ups and manual confirmations all become one of these and go through
// the one confirmation function (confirmation.ts).

/** How to find the payment: any of these may be known, the first that matches wins. */
export interface PaymentRef {
  paymentId: string | null;
  sessionId: string | null;
  paymentIntentId: string | null;
}

export type RefundFactStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface RefundFact {
  /** The gateway's refund id; null only for a refund the gateway refused outright. */
  gatewayRefundId: string | null;
  /** Fulcrum's refund id when the refund was made by Fulcrum (from the gateway's metadata). */
  refundId: string | null;
  amount: number;
  currency: string;
  status: RefundFactStatus;
  reason: string | null;
  failureReason: string | null;
}

export type PaymentFact =
  /** Money captured. */
  | { kind: 'paid'; ref: PaymentRef; amount: number; currency: string; paymentIntentId: string | null }
  /** The customer finished the checkout, the money is on its way (asynchronous methods). */
  | { kind: 'processing'; ref: PaymentRef; paymentIntentId: string | null }
  /** One attempt was declined; the checkout stays open and the customer may try again. */
  | { kind: 'declined'; ref: PaymentRef; reason: string }
  /** The payment failed for good (asynchronous failure). */
  | { kind: 'failed'; ref: PaymentRef; reason: string }
  /** The checkout expired unpaid. */
  | { kind: 'expired'; ref: PaymentRef }
  /** Fulcrum gave the payment up (its order is no longer payable) after closing any checkout at the gateway. */
  | { kind: 'canceled'; ref: PaymentRef; reason: string }
  /** Nothing happened yet (a look-up of an open checkout). */
  | { kind: 'open'; ref: PaymentRef }
  | { kind: 'refund'; ref: PaymentRef; refund: RefundFact }
  /**
   * An admin settles a flagged payment: `accept` takes the money as the order's payment, `refund` gives it back
   * in full and closes the payment (the order may be paid again). Refused (409) for a payment not flagged.
   */
  | { kind: 'resolve'; ref: PaymentRef; action: 'accept' | 'refund'; reason: string | null }
  /** The gateway's total refunded on the charge: informational, each refund has its own events. */
  | { kind: 'refund_total'; ref: PaymentRef; amountRefunded: number; currency: string };

export const noRef: PaymentRef = { paymentId: null, sessionId: null, paymentIntentId: null };
