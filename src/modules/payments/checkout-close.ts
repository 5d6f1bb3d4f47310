import type { PaymentsDeps } from './deps.ts';
import type { PaymentFact, PaymentRef } from './facts.ts';
import * as repo from './payments.repository.ts';
import type { PaymentRow } from './payments.repository.ts';
import { confirm } from './payments.service.ts';
import { GatewayError, providerOf } from './providers/index.ts';

// Closing a checkout at the gateway: used by checkout (an order closed meanwhile), expiry and reconciliation.
const ACTOR = 'system:reconciliation';

export const refOf = (p: PaymentRow): PaymentRef => ({
  paymentId: p.id,
  sessionId: p.gateway_session_id,
  paymentIntentId: p.gateway_payment_intent_id,
});

/**
 * Closes a payment's open checkout at the gateway, then settles it: CANCELED when the gateway expired it,
 * or whatever the gateway says happened instead (paid: confirmed, through the one confirmation path).
 * Returns the resulting payment status. Throws GatewayError when the gateway cannot be reached.
 */
export async function closeCheckout(deps: PaymentsDeps, payment: PaymentRow, reason: string): Promise<string> {
  const provider = providerOf(deps.providers, payment.provider);
  const sessionId = payment.gateway_session_id;
  let fact: PaymentFact | null = { kind: 'canceled', ref: refOf(payment), reason };
  if (sessionId !== null && (await provider.expireCheckout(sessionId)) === 'not_open') {
    fact = await provider.lookup({ paymentId: payment.id, sessionId });
  }
  if (fact !== null) await confirm(deps, fact, ACTOR);
  return (await repo.findPayment(deps.db, payment.id))?.status ?? payment.status;
}

/**
 * A checkout session open for an order that is no longer CREATED (cancelled while the session was being made,
 * or just now) is closed at the gateway, so that it takes no money: the payment becomes CANCELED, or — paid
 * meanwhile — is confirmed and refunded in full like any money for a closed order. Unreachable gateway: the
 * session stays open until reconciliation closes it. Returns the payment as it is now.
 */
export async function closeCheckoutOfClosedOrder(deps: PaymentsDeps, payment: PaymentRow): Promise<PaymentRow> {
  if (payment.status !== 'PENDING' || payment.gateway_session_id === null) return payment;
  const order = await repo.findOrderForPayment(deps.db, payment.order_id);
  if (order === undefined || order.status === 'CREATED') return payment;
  try {
    await closeCheckout(deps, payment, `order is ${order.status}`);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    deps.logger.warn(
      { err: error, paymentId: payment.id },
      'checkout of a closed order: gateway unavailable; reconciliation closes it',
    );
  }
  return (await repo.findPayment(deps.db, payment.id)) ?? payment;
}
