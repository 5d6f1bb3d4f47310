import { z } from 'zod';
import { money, moneySchema, toCurrency, type Money } from '../../shared/money.ts';
import { paymentStatuses } from './payment-status.ts';
import type { PaymentRow, RefundRow } from './payments.repository.ts';
import type { ProviderName } from './providers/index.ts';

export { paymentStatuses };
export const idParams = z.strictObject({ id: z.string().min(1).max(64) });

export const refundBody = z.strictObject({
  /** Minor units of the payment's currency (as Stripe takes it); default: everything not yet refunded. */
  amount: z.number().int('must be an integer number of minor units').min(1).max(99_999_999_999).optional(),
  reason: z.string().trim().min(1).max(500).optional(),
});

export const paymentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  /** One of the runtime's providers: `schemasFor` gives the schemas with their names as an enum. */
  provider: z.string(),
  status: z.enum(paymentStatuses),
  amount: moneySchema,
  refunded: moneySchema,
  checkoutUrl: z.string().nullable(),
  /** Extension: why the last attempt failed (e.g. a declined card), for the customer to act on. */
  failureReason: z.string().nullable(),
  /** Extension: set when money arrived that does not match the order; an admin must look at it. */
  flaggedReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  succeededAt: z.string().nullable(),
});
export type PaymentResponse = z.infer<typeof paymentSchema>;

export const refundSchema = z.object({
  id: z.string(),
  paymentId: z.string(),
  status: z.enum(['PENDING', 'SUCCEEDED', 'FAILED']),
  amount: moneySchema,
  reason: z.string().nullable(),
  createdAt: z.string(),
});
export type RefundResponse = z.infer<typeof refundSchema>;

/** A payment of GET /orders/:id/payments: the payment with its refunds, oldest first. */
export const orderPaymentSchema = paymentSchema.extend({ refunds: z.array(refundSchema) });
export type OrderPaymentResponse = z.infer<typeof orderPaymentSchema>;

/**
 * The schemas that name the runtime's providers (`providerNames(deps.providers)`), built when the routes are
 * defined: the checkout body refuses any other name (400), and /openapi.json lists them as an enum.
 */
export function schemasFor(providers: readonly [ProviderName, ...ProviderName[]]) {
  const provider = z.enum(providers);
  const payment = paymentSchema.extend({ provider });
  return {
    checkoutBody: z.strictObject({ provider: provider.optional() }),
    payment,
    paymentEnvelope: z.object({ payment }),
    orderPaymentList: z.object({ data: z.array(payment.extend({ refunds: z.array(refundSchema) })) }),
  };
}
export const refundEnvelope = z.object({ refund: refundSchema });

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function moneyOf(amount: number, currency: string): Money {
  return money(amount, toCurrency(currency));
}

/** The one place a payment row becomes a response (docs/api.md `payment`). */
export function toPaymentResponse(row: PaymentRow): PaymentResponse {
  return {
    id: row.id,
    orderId: row.order_id,
    provider: row.provider,
    status: row.status,
    amount: moneyOf(row.amount, row.currency),
    refunded: moneyOf(row.refunded_amount, row.currency),
    // The hosted page is only worth sending the customer to while the payment can still be made.
    checkoutUrl: row.status === 'PENDING' ? row.checkout_url : null,
    failureReason: row.failure_reason,
    flaggedReason: row.flagged_reason,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    succeededAt: iso(row.succeeded_at),
  };
}

export function toRefundResponse(row: RefundRow): RefundResponse {
  return {
    id: row.id,
    paymentId: row.payment_id,
    status: row.status,
    amount: moneyOf(row.amount, row.currency),
    reason: row.reason,
    createdAt: row.created_at.toISOString(),
  };
}
