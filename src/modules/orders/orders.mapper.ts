import type { Selectable } from 'kysely';
import type { OrderEventsTable, OrderItemsTable, OrdersTable } from '../../db/schema.ts';
import { money, toCurrency } from '../../shared/money.ts';
import type { OrderEventResponse, OrderResponse, ShippingAddress } from './orders.schemas.ts';

export type OrderRow = Selectable<OrdersTable>;
export type OrderItemRow = Selectable<OrderItemsTable>;
export type OrderEventRow = Selectable<OrderEventsTable>;
/** What the payments module shows of an order's payment; opaque to orders. */
export type PaymentSummary = Record<string, unknown>;

/** The account that placed an order, as order responses show it. */
export interface OrderCustomer {
  email: string;
  name: string;
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** The one place an order row becomes a response (docs/api.md `order`). */
export function toOrderResponse(
  order: OrderRow,
  items: readonly OrderItemRow[],
  payment: PaymentSummary | null = null,
  customer: OrderCustomer | null = null,
): OrderResponse {
  const currency = toCurrency(order.currency);
  return {
    id: order.id,
    userId: order.user_id,
    customer,
    status: order.status,
    version: order.version,
    items: [...items]
      .sort((a, b) => a.line_no - b.line_no)
      .map((item) => ({
        productId: item.product_id,
        sku: item.sku,
        name: item.name,
        quantity: item.quantity,
        unitPrice: money(item.unit_amount, currency),
        lineTotal: money(item.line_total, currency),
      })),
    total: money(order.total_amount, currency),
    refunded: money(order.refunded_amount, currency),
    payment,
    shippingAddress: (order.shipping_address ?? null) as ShippingAddress | null,
    shipment:
      order.shipped_at === null
        ? null
        : {
            carrier: order.carrier ?? '',
            trackingNumber: order.tracking_number ?? '',
            shippedAt: order.shipped_at.toISOString(),
            deliveredAt: iso(order.delivered_at),
          },
    createdAt: order.created_at.toISOString(),
    updatedAt: order.updated_at.toISOString(),
    expiresAt: order.expires_at.toISOString(),
    paidAt: iso(order.paid_at),
    cancelledAt: iso(order.cancelled_at),
    cancellationReason: order.cancellation_reason,
  };
}

export function toOrderEventResponse(event: OrderEventRow): OrderEventResponse {
  return {
    seq: event.seq,
    type: event.type,
    from: event.from_status,
    to: event.to_status,
    actor: event.actor,
    reason: event.reason,
    at: event.at.toISOString(),
  };
}
