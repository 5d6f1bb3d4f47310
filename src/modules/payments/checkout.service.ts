import { isStaff, type Actor } from '../../shared/actor.ts';
import { AppError, conflict, forbidden, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { toCurrency } from '../../shared/money.ts';
import type { PaymentsDeps } from './deps.ts';
import { notifyPayment } from './payment-events.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import { toPaymentResponse } from './payments.schemas.ts';
import { GatewayError, type CheckoutRequest, type ProviderName } from './providers/index.ts';

const MINUTE = 60_000;
// Stripe accepts expires_at from 30 minutes to 24 hours ahead; a minute's margin each side absorbs clock skew.
const MIN_SESSION_MS = 31 * MINUTE;
const MAX_SESSION_MS = 24 * 60 * MINUTE - MINUTE;

/**
 * When the checkout must close: with the order, within the gateway's window. An order expiring sooner
 * than the window allows gets the shortest session; the expiry job closes it at the gateway first.
 */
export function sessionExpiry(orderExpiresAt: Date, now: Date): Date {
  const min = now.getTime() + MIN_SESSION_MS;
  const max = now.getTime() + MAX_SESSION_MS;
  return new Date(Math.min(max, Math.max(min, orderExpiresAt.getTime())));
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && e.constraint === 'payments_order_active_key';
}

/** The 409 for an order that already has a payment holding (or about to hold) its money. */
function activePaymentConflict(payment: PaymentRow): AppError {
  if (payment.status === 'PENDING') {
    return conflict('payment_already_pending', 'This order already has a payment in progress.', {
      payment: toPaymentResponse(payment),
    });
  }
  return conflict('order_already_paid', 'This order is already paid.', { payment: toPaymentResponse(payment) });
}

function checkOrder(order: OrderForPayment, now: Date): void {
  if (order.status === 'PAID' || order.status === 'SHIPPED' || order.status === 'DELIVERED') {
    throw conflict('order_already_paid', 'This order is already paid.', { status: order.status });
  }
  if (order.status === 'CANCELLED') {
    throw conflict('invalid_transition', 'A cancelled order cannot be paid.', { status: order.status });
  }
  if (order.expires_at <= now) {
    throw conflict('invalid_transition', 'This order has expired and can no longer be paid.', { status: order.status });
  }
}

/** Phase 1, in its own transaction: the PENDING payment row, guarded by the partial unique index. */
async function insertPendingPayment(
  deps: PaymentsDeps,
  actor: Actor,
  orderId: string,
  provider: ProviderName,
): Promise<PaymentRow> {
  const now = deps.clock.now();
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const order = await repo.shareLockOrder(trx, orderId);
      if (order === undefined || (order.user_id !== actor.id && !isStaff(actor))) throw notFound('Order');
      if (order.user_id !== actor.id) throw forbidden('Only the customer who placed an order pays for it.');
      checkOrder(order, now);
      const existing = await repo.findActivePayment(trx, orderId);
      if (existing !== undefined) throw activePaymentConflict(existing);
      const payment = await repo.insertPayment(trx, {
        id: newId('pay'),
        order_id: order.id,
        user_id: order.user_id,
        provider,
        status: 'PENDING',
        amount: order.total_amount,
        currency: order.currency,
        session_expires_at: provider === 'stripe' ? sessionExpiry(order.expires_at, now) : null,
        created_at: now,
        updated_at: now,
      });
      await notifyPayment(trx, payment, now);
      return payment;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Lost the race on the index: answer with the payment that won it.
    const winner = await repo.findActivePayment(deps.db, orderId);
    if (winner === undefined)
      throw conflict('payment_already_pending', 'This order already has a payment in progress.');
    throw activePaymentConflict(winner);
  }
}

/** The gateway request for a payment: rebuilt identically from stored rows on every retry. */
export async function checkoutRequestFor(deps: PaymentsDeps, payment: PaymentRow): Promise<CheckoutRequest> {
  const [lines, email] = await Promise.all([
    repo.orderLines(deps.db, payment.order_id),
    repo.emailOf(deps.db, payment.user_id),
  ]);
  const linesTotal = lines.reduce((sum, l) => sum + l.line_total, 0);
  const base = `${deps.config.PUBLIC_URL}/?order=${encodeURIComponent(payment.order_id)}`;
  return {
    paymentId: payment.id,
    orderId: payment.order_id,
    amount: payment.amount,
    currency: toCurrency(payment.currency),
    // The gateway charges the sum of the lines: if they ever differ from the payment, charge one line of the total.
    lines:
      linesTotal === payment.amount && lines.length > 0 && lines.length <= 100
        ? lines.map((l) => ({ name: l.name, quantity: l.quantity, unitAmount: l.unit_amount }))
        : [{ name: `Order ${payment.order_id}`, quantity: 1, unitAmount: payment.amount }],
    customerEmail: email,
    expiresAt: payment.session_expires_at ?? new Date(payment.created_at.getTime() + MIN_SESSION_MS),
    successUrl: `${base}&checkout=success`,
    cancelUrl: `${base}&checkout=cancelled`,
  };
}

/**
 * Phase 2, outside any transaction: the gateway's checkout, idempotent on the payment id, then its id
 * and URL stored. Throws GatewayError; the payment stays PENDING for reconciliation.
 */
export async function openCheckout(deps: PaymentsDeps, payment: PaymentRow): Promise<PaymentRow> {
  const created = await deps.providers[payment.provider].createCheckout(await checkoutRequestFor(deps, payment));
  if (created.sessionId === null) return payment;
  const stored = await deps.db
    .updateTable('payments')
    .set({ gateway_session_id: created.sessionId, checkout_url: created.url, updated_at: deps.clock.now() })
    .where('id', '=', payment.id)
    .where('gateway_session_id', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return stored ?? (await repo.findPayment(deps.db, payment.id)) ?? payment;
}

/** POST /orders/:id/checkout. */
export async function startCheckout(
  deps: PaymentsDeps,
  actor: Actor,
  orderId: string,
  provider: ProviderName,
): Promise<PaymentRow> {
  const payment = await insertPendingPayment(deps, actor, orderId, provider);
  try {
    return await openCheckout(deps, payment);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    deps.logger.warn({ err: error, paymentId: payment.id }, 'checkout: gateway failed; reconciliation will finish it');
    throw new AppError(
      'bad_gateway',
      'gateway_unavailable',
      'The payment provider could not be reached; try again shortly.',
      {
        extra: { payment: toPaymentResponse(payment) },
        cause: error,
      },
    );
  }
}
