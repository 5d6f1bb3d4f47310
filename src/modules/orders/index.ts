import type { Registry } from 'prom-client';
import type { ModuleContext } from '../../http/module-context.ts';
import { registerOrderMetrics } from './orders.metrics.ts';
import { ordersRoutes, type OrdersModuleDeps } from './orders.routes.ts';
import type { OrderHooks } from './orders.service.ts';

// The orders module's public surface: other modules import only from here.
export { expireBatch, expireOrders, ORDER_EXPIRY_JOB, type ExpiryDeps } from './order-expiry.ts';
export { toOrderResponse, type OrderRow, type PaymentSummary } from './orders.mapper.ts';
export { placeOrder } from './orders.place.ts';
// Seam for payments: audit entries (flagged payment, refunds) on an order whose status does not change.
export { appendOrderEvent, touchOrder, type NewOrderEvent } from './orders.repository.ts';
export type { OrderResponse } from './orders.schemas.ts';
export {
  canSeeOrder,
  findVisibleOrder,
  loadOrderResponse,
  type OrderHooks,
  type OrdersDeps,
} from './orders.service.ts';
// If-Match on changes other modules make to an order (refunds, manual payments).
export { checkOrderVersion, StaleOrderError, withCurrentOrder } from './orders.version.ts';
// Seam for payments: an order paid in the payment's own statement (the common confirmation, one round trip).
export { lockCreatedOrderInline, payOrderInline, type PayOrderInline } from './orders.pay-inline.ts';
export { releaseStock, transitionOrder, type OrderActor, type TransitionOptions } from './orders.transition.ts';
export { orderStatuses, orderTransitions, transition, type OrderStatus } from './order-status.ts';

export type OrdersContext = ModuleContext<OrdersModuleDeps & { metrics: { registry: Registry } }>;

/**
 * Defines the order routes. `hooks` is where payments plugs in (refund on cancelling a PAID order,
 * the `payment` field, payment status in realtime messages); see OrderHooks.
 */
export function createOrdersModule(hooks: OrderHooks = {}): (ctx: OrdersContext) => void {
  return (ctx) => {
    registerOrderMetrics(ctx.deps.metrics.registry, ctx.deps.database.db);
    ordersRoutes(ctx, hooks);
  };
}

export const ordersModule = createOrdersModule();
