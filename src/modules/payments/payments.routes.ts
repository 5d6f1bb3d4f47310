import type { RequestHandler } from 'express';
import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import { createIdempotency, idempotencyClaimOf, recordIdempotentResult } from '../../http/idempotency.ts';
import { assertEmailVerified } from '../auth/index.ts';
import { ifMatchOf } from '../../http/if-match.ts';
import { loadOrderResponse, withCurrentOrder } from '../orders/index.ts';
import { startCheckout } from './checkout.service.ts';
import type { PaymentsDeps } from './deps.ts';
import { confirmManualPayment, getPayment, paymentsOfOrder, paymentViewsForOrders } from './payments.service.ts';
import { providerNames } from './providers/index.ts';
import {
  idParams,
  refundBody,
  refundEnvelope,
  schemasFor,
  toPaymentResponse,
  toRefundResponse,
} from './payments.schemas.ts';
import { requestRefund } from './refunds.service.ts';

const tags = ['payments'];

/** What the payment routes need from the app: the settings they read are passed in, not imported. */
export type PaymentsRoutesContext = ModuleContext<{
  database: Database;
  clock: Clock;
  logger: Logger;
  config: { readonly REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: boolean };
}>;

/** POST /orders/:id/checkout, GET /payments/:id, and the admin routes for refunds and manual payments. */
export function paymentsRoutes(ctx: PaymentsRoutesContext, deps: PaymentsDeps): void {
  const { database, clock, logger } = ctx.deps;
  const idempotency = createIdempotency({ db: database.db, clock, logger });
  const {
    checkoutBody,
    payment: paymentSchema,
    paymentEnvelope,
    orderPaymentList,
  } = schemasFor(providerNames(deps.providers));
  // Before the idempotency key is claimed, so a 403 here is not kept: once verified, the same key goes through.
  const verifiedEmail: RequestHandler = async (req, _res, next) => {
    if (ctx.deps.config.REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT) await assertEmailVerified(database.db, actorOf(req).id);
    next();
  };
  // If-Match on these routes names the version of the payment's order; stale: 412 with that order now.
  const withOrder = <T>(work: () => Promise<T>) =>
    withCurrentOrder(work, (orderId) => loadOrderResponse(database.db, orderId, paymentViewsForOrders));

  ctx.define('/api/v1/orders').route(
    {
      method: 'post',
      path: '/:id/checkout',
      summary: 'Start paying an order: a PENDING payment and, for Stripe, the hosted checkout to send the customer to',
      tags,
      auth: true,
      idempotent: true,
      before: [verifiedEmail, idempotency],
      params: idParams,
      body: checkoutBody,
      responses: {
        201: { description: 'The payment, with checkoutUrl', schema: paymentEnvelope },
        403: { description: 'email_not_verified (with REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT), forbidden' },
        404: { description: 'not_found' },
        409: {
          description: 'payment_already_pending (with `payment`), order_already_paid, invalid_transition',
        },
        502: { description: 'gateway_unavailable: the payment stays PENDING; reconciliation finishes it' },
      },
    },
    async ({ params, body }, req, res) => {
      const payment = await startCheckout(deps, actorOf(req), params.id, body.provider ?? 'stripe');
      res.status(201).json({ payment: toPaymentResponse(payment) });
    },
  );

  ctx.define('/api/v1/orders').route(
    {
      method: 'get',
      path: '/:id/payments',
      summary: 'Every payment of an order with its refunds, oldest first (another customer’s order is 404)',
      tags,
      auth: true,
      params: idParams,
      responses: {
        200: { description: 'The payments', schema: orderPaymentList },
        404: { description: 'not_found' },
      },
    },
    async ({ params }, req, res) => {
      res.json(await paymentsOfOrder(deps, actorOf(req), params.id));
    },
  );

  ctx.define('/api/v1/payments').route(
    {
      method: 'get',
      path: '/:id',
      summary: 'A payment: your own; support and admin see all',
      tags,
      auth: true,
      params: idParams,
      responses: { 200: { description: 'The payment', schema: paymentSchema }, 404: { description: 'not_found' } },
    },
    async ({ params }, req, res) => {
      res.json(toPaymentResponse(await getPayment(deps, actorOf(req), params.id)));
    },
  );

  adminPaymentRoutes(ctx.define('/api/v1/admin/payments'), deps, { idempotency, withOrder, clock, paymentSchema });
}

interface AdminRouteTools {
  idempotency: RequestHandler;
  /** Runs a change guarded by If-Match on the payment's order (412 with that order when stale). */
  withOrder: <T>(work: () => Promise<T>) => Promise<T>;
  clock: Clock;
  /** The payment's response schema, its provider an enum of the runtime's providers. */
  paymentSchema: ReturnType<typeof schemasFor>['payment'];
}

/** Refunds and manual confirmation under /admin/payments. */
function adminPaymentRoutes(admin: ModuleRoutes, deps: PaymentsDeps, tools: AdminRouteTools): void {
  const { idempotency, withOrder, clock, paymentSchema } = tools;
  admin.route(
    {
      method: 'post',
      path: '/:id/refunds',
      versioned: true,
      summary: 'Refund a payment, in part or in full (admin); never more than was captured',
      tags,
      auth: true,
      idempotent: true,
      before: [idempotency],
      params: idParams,
      body: refundBody,
      responses: {
        201: {
          description:
            'The refund: SUCCEEDED, FAILED (the gateway refused), or PENDING (the gateway will be asked again)',
          schema: refundEnvelope,
        },
        403: { description: 'forbidden' },
        404: { description: 'not_found' },
        409: { description: 'refund_exceeds_captured (with `refundable`)' },
        412: {
          description: 'precondition_failed: If-Match names an older version of the order (`order`: as it is now)',
        },
      },
    },
    async ({ params, body }, req, res) => {
      const claim = idempotencyClaimOf(req);
      // A crash after the refund is recorded leaves a replayable answer (PENDING; reconciliation sends it),
      // never a key that a retry would run again into a second refund.
      const ifMatch = ifMatchOf(req);
      const refund = await withOrder(() =>
        requestRefund(deps, actorOf(req), params.id, { ...body, ifMatch }, async (trx, recorded) => {
          if (claim !== undefined) {
            await recordIdempotentResult(trx, claim, 201, { refund: toRefundResponse(recorded) }, clock.now());
          }
        }),
      );
      res.status(201).json({ refund: toRefundResponse(refund) });
    },
  );
  admin.route(
    {
      method: 'post',
      path: '/:id/confirm',
      versioned: true,
      summary: 'Confirm a manual payment (bank transfer, cash on delivery): the money arrived (admin)',
      tags,
      auth: true,
      params: idParams,
      responses: {
        200: { description: 'The payment', schema: paymentSchema },
        403: { description: 'forbidden' },
        404: { description: 'not_found' },
        409: { description: 'invalid_transition: not a manual payment, or no longer confirmable' },
        412: {
          description: 'precondition_failed: If-Match names an older version of the order (`order`: as it is now)',
        },
      },
    },
    async ({ params }, req, res) => {
      const ifMatch = ifMatchOf(req);
      res.json(toPaymentResponse(await withOrder(() => confirmManualPayment(deps, actorOf(req), params.id, ifMatch))));
    },
  );
}
