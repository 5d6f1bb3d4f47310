import { z } from 'zod';
import { listQuery } from '../../http/validate.ts';
import { moneySchema } from '../../shared/money.ts';
import { orderStatuses } from './order-status.ts';

const text = (max: number) => z.string().trim().min(1).max(max);

export const shippingAddressSchema = z.strictObject({
  name: text(200),
  line1: text(200),
  line2: z.string().trim().max(200).optional(),
  city: text(100),
  postalCode: text(20),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code, e.g. "DE"'),
});
export type ShippingAddress = z.output<typeof shippingAddressSchema>;

/** Strict: a client sending status, total, unitPrice or userId gets 400, never a silent ignore. */
export const placeOrderBody = z.strictObject({
  items: z
    .array(
      z.strictObject({
        productId: z.string().min(1).max(64),
        quantity: z.number().int().min(1).max(100),
      }),
    )
    .min(1)
    .max(50),
  shippingAddress: shippingAddressSchema.optional(),
});
export type PlaceOrderInput = z.output<typeof placeOrderBody>;

const isoInstant = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2025-01-31T00:00:00Z' })
  .transform((value) => new Date(value));

export const orderParams = z.strictObject({ id: z.string().min(1).max(64) });

export const listOrdersQuery = z.strictObject({
  ...listQuery,
  /** Staff: anyone's orders; customers: only their own id (or leave it out). */
  userId: z.string().min(1).max(64).optional(),
  status: z.enum(orderStatuses).optional(),
  /** The customer's e-mail, compared in lower case (staff; a customer only their own). Not with userId. */
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(254)
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an e-mail address')
    .optional(),
  /** Placed at or after this instant (ISO 8601 with a time zone, e.g. 2025-01-31T00:00:00.000Z). */
  createdFrom: isoInstant.optional(),
  /** Placed before this instant (exclusive); must be after createdFrom. */
  createdTo: isoInstant.optional(),
});
export type ListOrdersQuery = z.output<typeof listOrdersQuery>;

export const cancelOrderBody = z.strictObject({ reason: text(500).optional() });
export const shipOrderBody = z.strictObject({ carrier: text(100), trackingNumber: text(100) });

export const orderItemSchema = z.object({
  productId: z.string(),
  sku: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPrice: moneySchema,
  lineTotal: moneySchema,
});

export const orderSchema = z.object({
  id: z.string(),
  userId: z.string(),
  /** Who placed it: the account's e-mail and name now (a deleted account's are anonymised). */
  customer: z.object({ email: z.string(), name: z.string() }).nullable(),
  status: z.enum(orderStatuses),
  /** Increased by every change of the order; the ETag of order responses and what If-Match names. */
  version: z.number().int(),
  items: z.array(orderItemSchema),
  total: moneySchema,
  refunded: moneySchema,
  /** The order's current payment (the payments module fills it in); null while there is none. */
  payment: z.record(z.string(), z.unknown()).nullable(),
  shippingAddress: shippingAddressSchema.nullable(),
  shipment: z
    .object({
      carrier: z.string(),
      trackingNumber: z.string(),
      shippedAt: z.string(),
      deliveredAt: z.string().nullable(),
    })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string(),
  paidAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  cancellationReason: z.string().nullable(),
});
export type OrderResponse = z.infer<typeof orderSchema>;

export const orderListSchema = z.object({ data: z.array(orderSchema), nextCursor: z.string().nullable() });

export const orderEventSchema = z.object({
  seq: z.number().int(),
  type: z.string(),
  from: z.enum(orderStatuses).nullable(),
  to: z.enum(orderStatuses),
  actor: z.string(),
  reason: z.string().nullable(),
  at: z.string(),
});
export type OrderEventResponse = z.infer<typeof orderEventSchema>;
export const orderEventListSchema = z.object({ data: z.array(orderEventSchema) });
