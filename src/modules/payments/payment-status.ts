// The payment lifecycle as data (docs/api.md § Payment statuses), beside the order one
// (src/modules/orders/order-status.ts). Pure: no I/O, no clock. Every status UPDATE of a payment is checked
// here first and then guarded by the status it moves from (movePayment in payment-events.ts, updatePaymentFrom).
import type { PaymentStatusColumn } from '../../db/schema.ts';

export type PaymentStatus = PaymentStatusColumn;

/** In the order of the API's enum (docs/api.md, /openapi.json). */
export const paymentStatuses = [
  'PENDING',
  'SUCCEEDED',
  'FAILED',
  'EXPIRED',
  'CANCELED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
] as const satisfies readonly PaymentStatus[];

/**
 * Every move a payment makes:
 * - PENDING ends SUCCEEDED (money), FAILED, EXPIRED or CANCELED (given up, or flagged money refunded);
 * - a captured payment moves between SUCCEEDED, PARTIALLY_REFUNDED and REFUNDED as its succeeded refunds add up —
 *   backwards too, when the gateway fails a refund it first reported succeeded;
 * - FAILED, EXPIRED or CANCELED becomes SUCCEEDED when money arrives for it after all and no other payment of the
 *   order holds or awaits money (otherwise it keeps its status, and the money is recorded and refunded).
 * A captured payment never goes back to PENDING, FAILED, EXPIRED or CANCELED.
 */
export const paymentTransitions = {
  PENDING: ['SUCCEEDED', 'FAILED', 'EXPIRED', 'CANCELED'],
  SUCCEEDED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  PARTIALLY_REFUNDED: ['SUCCEEDED', 'REFUNDED'],
  REFUNDED: ['SUCCEEDED', 'PARTIALLY_REFUNDED'],
  FAILED: ['SUCCEEDED'],
  EXPIRED: ['SUCCEEDED'],
  CANCELED: ['SUCCEEDED'],
} as const satisfies Record<PaymentStatus, readonly PaymentStatus[]>;

export type PaymentTransitionResult =
  | { ok: true; from: PaymentStatus; to: PaymentStatus }
  | { ok: false; error: 'invalid_transition'; from: PaymentStatus; to: PaymentStatus };

export function isPaymentStatus(value: string): value is PaymentStatus {
  return (paymentStatuses as readonly string[]).includes(value);
}

/** Whether the table has the move `from` → `to` (staying put is not a move). */
export function canMovePayment(from: PaymentStatus, to: PaymentStatus): boolean {
  return (paymentTransitions[from] as readonly PaymentStatus[]).includes(to);
}

/** The move `from` → `to`, or `invalid_transition` when the table has no such move. */
export function transitionPayment(from: PaymentStatus, to: PaymentStatus): PaymentTransitionResult {
  return canMovePayment(from, to) ? { ok: true, from, to } : { ok: false, error: 'invalid_transition', from, to };
}

/** Statuses in which money was captured (the order's payment: it counts refunds, the order may be PAID). */
export const capturedStatuses: readonly PaymentStatus[] = ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'];

/** Statuses under the partial unique index: the payment holds money or may still receive it. */
export const activeStatuses: readonly PaymentStatus[] = ['PENDING', ...capturedStatuses];

/** Waiting for an admin: money that does not match the order arrived, and nobody has accepted or refunded it yet. */
export const isFlagged = (p: { status: PaymentStatus; flagged_reason: string | null }): boolean =>
  p.status === 'PENDING' && p.flagged_reason !== null;

/**
 * Money the payment holds outside the order's payment (a flagged payment's, or late money for a payment that is
 * no longer the order's active one), as it arrived; null when there is none. What is done with it: held-money.ts.
 */
export function heldMoney(p: {
  status: PaymentStatus;
  currency: string;
  captured_amount: number | null;
  captured_currency: string | null;
}): { amount: number; currency: string } | null {
  if (p.captured_amount === null || capturedStatuses.includes(p.status)) return null;
  return { amount: p.captured_amount, currency: p.captured_currency ?? p.currency };
}
