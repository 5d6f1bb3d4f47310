import type { Actor } from '../../shared/actor.ts';
import { can } from '../auth/index.ts';
import { AppError, conflict, forbidden, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { toCurrency } from '../../shared/money.ts';
import type { PaymentsDeps } from './deps.ts';
import { notifyPayment } from './payment-events.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import { toPaymentResponse } from './payments.schemas.ts';
import { confirm } from './payments.service.ts';
import { closeCheckoutOfClosedOrder } from './checkout-close.ts';
import {
  GatewayError,
  providerOf,
  refusedOutright,
  type CheckoutRequest,
  type PaymentProvider,
  type ProviderName,
} from './providers/index.ts';

const MINUTE = 60_000;
// Stripe's window (30 minutes to 24 hours ahead) with a minute's margin each side for clock skew.
const STRIPE_WINDOW = { minMs: 31 * MINUTE, maxMs: 24 * 60 * MINUTE - MINUTE };
const ACTOR = 'system:checkout';
/** Why a payment whose checkout the gateway refused to create is FAILED (here and in reconciliation). */
export const CHECKOUT_REFUSED = 'checkout could not be created';

/**
 * When the checkout must close: with the order, within the gateway's window. An order expiring sooner
 * than the window allows gets the shortest session; the expiry job closes it at the gateway first.
 */
export function sessionExpiry(
  orderExpiresAt: Date,
  now: Date,
  window: { minMs: number; maxMs: number } = STRIPE_WINDOW,
): Date {
  const min = now.getTime() + window.minMs;
  const max = now.getTime() + window.maxMs;
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

/** Marks a payment whose phase 2 the gateway did not answer: a new checkout may resume it at once. */
const CHECKOUT_UNAVAILABLE = 'gateway_unavailable: the checkout could not be opened yet';

/**
 * A PENDING payment whose checkout (phase 2) has no session and is not (or no longer) running: it failed
 * with a 502 (marked), or it is older than the grace (the process died in it). A checkout request for it
 * resumes it; one racing a phase 2 still in flight is answered 409 as before.
 */
function awaitsSession(deps: PaymentsDeps, payment: PaymentRow, provider: PaymentProvider, now: Date): boolean {
  const graceOver = now.getTime() - deps.config.RECONCILE_CHECKOUT_GRACE_SECONDS * 1000;
  return (
    payment.status === 'PENDING' &&
    payment.provider === provider.name &&
    provider.hostedCheckout &&
    payment.gateway_session_id === null &&
    payment.flagged_reason === null &&
    (payment.failure_reason === CHECKOUT_UNAVAILABLE || payment.created_at.getTime() <= graceOver)
  );
}

/**
 * Phase 1, in its own transaction: the PENDING payment row, guarded by the partial unique index. When the
 * order's PENDING payment with this provider has no session yet (a 502, a crash), that payment is returned
 * (`resumed`) for its phase 2 to be tried again instead of a 409.
 */
async function insertPendingPayment(
  deps: PaymentsDeps,
  actor: Actor,
  orderId: string,
  provider: PaymentProvider,
): Promise<{ payment: PaymentRow; resumed: boolean }> {
  const now = deps.clock.now();
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const order = await repo.shareLockOrder(trx, orderId);
      if (order === undefined || (order.user_id !== actor.id && !can(actor, 'read_all'))) throw notFound('Order');
      if (order.user_id !== actor.id) throw forbidden('Only the customer who placed an order pays for it.');
      checkOrder(order, now);
      const existing = await repo.findActivePayment(trx, orderId);
      if (existing !== undefined && awaitsSession(deps, existing, provider, now)) {
        return { payment: existing, resumed: true };
      }
      if (existing !== undefined) throw activePaymentConflict(existing);
      const payment = await repo.insertPayment(trx, {
        id: newId('pay'),
        order_id: order.id,
        user_id: order.user_id,
        provider: provider.name,
        status: 'PENDING',
        amount: order.total_amount,
        currency: order.currency,
        session_expires_at:
          provider.checkoutWindow === undefined ? null : sessionExpiry(order.expires_at, now, provider.checkoutWindow),
        created_at: now,
        updated_at: now,
      });
      await notifyPayment(trx, payment, now);
      return { payment, resumed: false };
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
    expiresAt: payment.session_expires_at ?? new Date(payment.created_at.getTime() + STRIPE_WINDOW.minMs),
    successUrl: `${base}&checkout=success`,
    cancelUrl: `${base}&checkout=cancelled`,
  };
}

/**
 * Phase 2, outside any transaction: the gateway's checkout, idempotent on the payment id, then its id
 * and URL stored. Throws GatewayError; the payment stays PENDING for reconciliation.
 */
export async function openCheckout(deps: PaymentsDeps, payment: PaymentRow): Promise<PaymentRow> {
  const created = await providerOf(deps.providers, payment.provider).createCheckout(
    await checkoutRequestFor(deps, payment),
  );
  if (created.sessionId === null) return payment;
  const stored = await deps.db
    .updateTable('payments')
    // failure_reason: only a session can be declined, so before one it is at most the 502 mark.
    .set({
      gateway_session_id: created.sessionId,
      checkout_url: created.url,
      failure_reason: null,
      updated_at: deps.clock.now(),
    })
    .where('id', '=', payment.id)
    .where('gateway_session_id', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return stored ?? (await repo.findPayment(deps.db, payment.id)) ?? payment;
}

/** The 502 for a checkout the gateway did not answer: the payment stays PENDING, marked to be resumed. */
async function gatewayUnavailable(deps: PaymentsDeps, payment: PaymentRow, error: GatewayError): Promise<AppError> {
  deps.logger.warn({ err: error, paymentId: payment.id }, 'checkout: gateway failed; reconciliation will finish it');
  const marked = await deps.db
    .updateTable('payments')
    .set({ failure_reason: CHECKOUT_UNAVAILABLE })
    .where('id', '=', payment.id)
    .where('status', '=', 'PENDING')
    .where('gateway_session_id', 'is', null)
    .returningAll()
    .executeTakeFirst();
  payment = marked ?? payment;
  return new AppError(
    'bad_gateway',
    'gateway_unavailable',
    'The payment provider could not be reached; try again shortly.',
    {
      extra: { payment: toPaymentResponse(payment) },
      cause: error,
    },
  );
}

/**
 * POST /orders/:id/checkout. A payment left without a session by an earlier attempt is resumed: its phase 2
 * again, under the same idempotency key with the same stored parameters, so the gateway answers with the
 * session it made before or makes the only one. When the gateway refuses those parameters outright (the
 * stored expiry is now too close), nothing exists under that key: the payment is FAILED and a new one
 * started, as for a fresh checkout.
 */
export async function startCheckout(
  deps: PaymentsDeps,
  actor: Actor,
  orderId: string,
  providerName: ProviderName,
): Promise<PaymentRow> {
  const provider = providerOf(deps.providers, providerName);
  const { payment, resumed } = await insertPendingPayment(deps, actor, orderId, provider);
  try {
    // The order may have been cancelled while the gateway made the session: that session is closed again.
    return await closeCheckoutOfClosedOrder(deps, await openCheckout(deps, payment));
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    if (!resumed || !refusedOutright(error)) throw await gatewayUnavailable(deps, payment, error);
    deps.logger.warn({ err: error, paymentId: payment.id }, 'checkout: the gateway refused a resumed checkout');
    await confirm(
      deps,
      {
        kind: 'failed',
        ref: { paymentId: payment.id, sessionId: null, paymentIntentId: null },
        reason: CHECKOUT_REFUSED,
      },
      ACTOR,
    );
  }
  const fresh = await insertPendingPayment(deps, actor, orderId, provider);
  try {
    return await closeCheckoutOfClosedOrder(deps, await openCheckout(deps, fresh.payment));
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    throw await gatewayUnavailable(deps, fresh.payment, error);
  }
}
