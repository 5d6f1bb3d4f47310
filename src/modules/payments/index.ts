import type { Registry } from 'prom-client';
import { adminPaymentsRoutes } from './admin-payments.routes.ts';
import { registerPaymentMetrics } from './metrics.ts';
import { paymentsRoutes, type PaymentsRoutesContext } from './payments.routes.ts';
import type { PaymentsRuntime } from './runtime.ts';
import { stripeWebhookRoutes } from './stripe-webhook.routes.ts';

// The payments module's public surface: other modules and main.ts import only from here.
export { createPaymentsRuntime, stripeFromConfig, type PaymentsOptions, type PaymentsRuntime } from './runtime.ts';
export { paymentStatusOf, paymentViewsForOrders } from './payments.service.ts';
// The dashboard's count of payments waiting for an admin.
export { countWaitingForAdmin } from './order-payments.repository.ts';
export { toPaymentResponse, toRefundResponse, type PaymentResponse, type RefundResponse } from './payments.schemas.ts';
export { createStripeClient, type PaymentProvider, type Providers } from './providers/index.ts';
export { releaseReconcileLease, type ReconcileReport } from './reconciliation.ts';

/**
 * Defines checkout, GET /payments/:id, refunds, manual confirmation, the admin list and resolve, and the Stripe
 * webhook (POST /api/v1/webhooks/stripe, raw body); adds its gauges to /metrics.
 */
export function paymentsModule(
  ctx: PaymentsRoutesContext & { deps: { payments: PaymentsRuntime; metrics: { registry: Registry } } },
): void {
  paymentsRoutes(ctx, ctx.deps.payments.deps);
  adminPaymentsRoutes(ctx, ctx.deps.payments.deps);
  stripeWebhookRoutes(ctx, ctx.deps.payments.webhooks);
  registerPaymentMetrics(ctx.deps.metrics.registry, ctx.deps.database.db, ctx.deps.clock);
}
