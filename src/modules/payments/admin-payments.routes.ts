import { z } from 'zod';
import type { ModuleContext } from '../../http/module-context.ts';
import { actorOf } from '../../http/authenticate.ts';
import { listQuery } from '../../http/validate.ts';
import { money, moneySchema, toCurrency } from '../../shared/money.ts';
import type { PaymentsDeps } from './deps.ts';
import { isFlagged } from './payment-status.ts';
import type { PaymentRow } from './payments.repository.ts';
import { providerNames } from './providers/index.ts';
import { idParams, paymentSchema, paymentStatuses, schemasFor, toPaymentResponse } from './payments.schemas.ts';
import { listPaymentsForAdmin, resolveFlaggedPayment } from './payments.service.ts';

const tags = ['payments'];

export const listPaymentsQuery = z.strictObject({
  ...listQuery,
  /**
   * `true`: payments waiting for an admin (money that does not match the order, or money owed back whose refund
   * the gateway failed); `false`: all others.
   */
  flagged: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  status: z.enum(paymentStatuses).optional(),
});

export const resolveBody = z.strictObject({
  action: z.enum(['accept', 'refund']),
  reason: z.string().trim().min(1).max(500).optional(),
});

const adminFields = {
  userId: z.string(),
  /** Extension: true while the payment waits for an admin: its accept or refund, or a refund again of money owed back. */
  flagged: z.boolean(),
  /** Extension: money received that is not (yet) the order's payment, as it arrived; null when none. */
  captured: moneySchema.nullable(),
};
export type AdminPaymentResponse = z.infer<ReturnType<typeof paymentSchema.extend<typeof adminFields>>>;

/** The admin's payment and page schemas, the provider an enum of the runtime's providers. */
function adminSchemasFor(deps: PaymentsDeps) {
  const adminPaymentSchema = schemasFor(providerNames(deps.providers)).payment.extend(adminFields);
  return {
    adminPaymentSchema,
    adminPaymentList: z.object({ data: z.array(adminPaymentSchema), nextCursor: z.string().nullable() }),
  };
}

/** `owes_refund` (from the list): money owed back whose refund the gateway failed also waits for an admin. */
export function toAdminPaymentResponse(row: PaymentRow & { owes_refund?: boolean }): AdminPaymentResponse {
  return {
    ...toPaymentResponse(row),
    userId: row.user_id,
    flagged: isFlagged(row) || row.owes_refund === true,
    captured:
      row.captured_amount === null
        ? null
        : money(row.captured_amount, toCurrency(row.captured_currency ?? row.currency)),
  };
}

/** GET /admin/payments (support, admin) and POST /admin/payments/:id/resolve (admin). */
export function adminPaymentsRoutes(ctx: ModuleContext<unknown>, deps: PaymentsDeps): void {
  const admin = ctx.define('/api/v1/admin/payments');
  const { adminPaymentSchema, adminPaymentList } = adminSchemasFor(deps);
  admin.route(
    {
      method: 'get',
      path: '/',
      summary: 'Payments, newest first; `flagged=true` lists those waiting for an admin (support and admin)',
      tags,
      auth: true,
      query: listPaymentsQuery,
      responses: {
        200: { description: 'A page of payments', schema: adminPaymentList },
        403: { description: 'forbidden' },
      },
    },
    async ({ query }, req, res) => {
      const page = await listPaymentsForAdmin(deps, actorOf(req), query);
      res.json({ data: page.rows.map(toAdminPaymentResponse), nextCursor: page.nextCursor });
    },
  );
  admin.route(
    {
      method: 'post',
      path: '/:id/resolve',
      summary:
        'Settle a flagged payment (admin): accept the money as the order’s payment, or refund it in full at the gateway',
      tags,
      auth: true,
      params: idParams,
      body: resolveBody,
      responses: {
        200: { description: 'The payment: SUCCEEDED (accepted) or CANCELED (refunded)', schema: adminPaymentSchema },
        403: { description: 'forbidden' },
        404: { description: 'not_found' },
        409: {
          description:
            'invalid_transition: the payment is not flagged, or (accept) the order is no longer CREATED or in another currency',
        },
      },
    },
    async ({ params, body }, req, res) => {
      const payment = await resolveFlaggedPayment(deps, actorOf(req), params.id, body.action, body.reason ?? null);
      res.json(toAdminPaymentResponse(payment));
    },
  );
}
