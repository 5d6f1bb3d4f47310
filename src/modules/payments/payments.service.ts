import type { Executor } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import { decodeCursor, pageOf } from '../../shared/cursor.ts';
import { conflict, notFound } from '../../shared/errors.ts';
import type { VersionCondition } from '../../http/if-match.ts';
import { can, requirePermission } from '../auth/index.ts';
import { checkOrderVersion, findVisibleOrder } from '../orders/index.ts';
import { applyPaymentFact, type ConfirmResult } from './confirmation.ts';
import type { PaymentsDeps } from './deps.ts';
import type { PaymentFact } from './facts.ts';
import { capturedStatuses } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import { paymentsOfOrder as paymentRowsOfOrder, refundsOfPayments } from './order-payments.repository.ts';
import type { PaymentRow } from './payments.repository.ts';
import {
  toPaymentResponse,
  toRefundResponse,
  type OrderPaymentResponse,
  type PaymentResponse,
} from './payments.schemas.ts';
import { issueRefund } from './refunds.service.ts';

/** Owners see their payments, staff see all; anyone else is told it does not exist. */
export async function getPayment(deps: PaymentsDeps, actor: Actor, paymentId: string): Promise<PaymentRow> {
  const payment = await repo.findPayment(deps.db, paymentId);
  if (payment === undefined || (payment.user_id !== actor.id && !can(actor, 'read_all'))) throw notFound('Payment');
  return payment;
}

/** GET /orders/:id/payments: every payment of an order the actor may see, each with its refunds, oldest first. */
export async function paymentsOfOrder(
  deps: PaymentsDeps,
  actor: Actor,
  orderId: string,
): Promise<{ data: OrderPaymentResponse[] }> {
  await findVisibleOrder(deps.db, actor, orderId);
  const payments = await paymentRowsOfOrder(deps.db, orderId);
  const refunds = Map.groupBy(
    await refundsOfPayments(
      deps.db,
      payments.map((p) => p.id),
    ),
    (r) => r.payment_id,
  );
  return {
    data: payments.map((p) => ({
      ...toPaymentResponse(p),
      refunds: (refunds.get(p.id) ?? []).map(toRefundResponse),
    })),
  };
}

/**
 * Applies a fact in a transaction of its own, then asks the gateway for any refund it decided on.
 * For callers outside the inbox worker: reconciliation, order expiry, manual confirmation.
 */
export async function confirm(
  deps: PaymentsDeps,
  fact: PaymentFact,
  actor: string,
  /** Runs first in the transaction (e.g. the If-Match check under the order's lock); throwing applies nothing. */
  precheck?: (trx: Executor) => Promise<void>,
): Promise<ConfirmResult> {
  const result = await deps.db.transaction().execute(async (trx) => {
    await precheck?.(trx);
    return applyPaymentFact(trx, fact, { at: deps.clock.now(), actor });
  });
  await issueRefunds(deps, result.refundsToIssue);
  return result;
}

export async function issueRefunds(deps: PaymentsDeps, refundIds: readonly string[]): Promise<void> {
  for (const id of refundIds) await issueRefund(deps, id);
}

/** POST /admin/payments/:id/confirm: money for a manual payment arrived by other means. */
export async function confirmManualPayment(
  deps: PaymentsDeps,
  actor: Actor,
  paymentId: string,
  ifMatch?: VersionCondition,
): Promise<PaymentRow> {
  // The permission table has no row of its own for this: settling money by hand goes with refunds (admins).
  requirePermission(actor, 'refund', 'Only admins confirm manual payments.');
  const payment = await repo.findPayment(deps.db, paymentId);
  if (payment === undefined) throw notFound('Payment');
  if (payment.provider !== 'manual') {
    throw conflict(
      'invalid_transition',
      'Only manual payments are confirmed by hand; gateway payments confirm themselves.',
    );
  }
  if (payment.status !== 'PENDING' && !capturedStatuses.includes(payment.status)) {
    throw conflict('invalid_transition', `A ${payment.status} payment cannot be confirmed.`, {
      status: payment.status,
    });
  }
  await confirm(
    deps,
    {
      kind: 'paid',
      ref: { paymentId, sessionId: null, paymentIntentId: null },
      amount: payment.amount,
      currency: payment.currency,
      paymentIntentId: null,
    },
    actor.id,
    async (trx) => {
      // The order's lock first, as the confirmation path takes it: the version read cannot change before the fact applies.
      const order = await repo.lockOrderForPayment(trx, payment.order_id);
      if (order !== undefined) checkOrderVersion(ifMatch, order);
    },
  );
  return (await repo.findPayment(deps.db, paymentId))!;
}

/** The payment to show on each order (the active one, else the newest), as docs/api.md's `payment`. */
export async function paymentViewsForOrders(
  db: Executor,
  orderIds: readonly string[],
): Promise<ReadonlyMap<string, PaymentResponse>> {
  const rows = await repo.currentPayments(db, orderIds);
  return new Map(rows.map((row) => [row.order_id, toPaymentResponse(row)]));
}

/** The order's payment status for realtime messages; null while it has no payment. */
export async function paymentStatusOf(db: Executor, orderId: string): Promise<string | null> {
  const [row] = await repo.currentPayments(db, [orderId]);
  return row?.status ?? null;
}

/** GET /admin/payments: support and admin (`read_all`), newest first, a cursor page. */
export async function listPaymentsForAdmin(
  deps: PaymentsDeps,
  actor: Actor,
  query: {
    flagged?: boolean | undefined;
    status?: PaymentRow['status'] | undefined;
    cursor?: string | undefined;
    limit: number;
  },
): Promise<{ rows: repo.ListedPaymentRow[]; nextCursor: string | null }> {
  requirePermission(actor, 'read_all');
  const rows = await repo.listPayments(deps.db, {
    flagged: query.flagged,
    status: query.status,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: query.limit,
  });
  return pageOf(rows, query.limit);
}

/**
 * POST /admin/payments/:id/resolve (admin, `refund`): an admin's decision on a flagged payment, through the
 * confirmation path (accept: the order is paid; refund: recorded, then asked of the gateway after commit).
 */
export async function resolveFlaggedPayment(
  deps: PaymentsDeps,
  actor: Actor,
  paymentId: string,
  action: 'accept' | 'refund',
  reason: string | null,
): Promise<PaymentRow> {
  requirePermission(actor, 'refund', 'Only admins settle flagged payments.');
  if ((await repo.findPayment(deps.db, paymentId)) === undefined) throw notFound('Payment');
  await confirm(
    deps,
    { kind: 'resolve', ref: { paymentId, sessionId: null, paymentIntentId: null }, action, reason },
    actor.id,
  );
  return (await repo.findPayment(deps.db, paymentId))!;
}
