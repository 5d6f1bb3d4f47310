import type { PaymentsDeps } from './deps.ts';
import { isFlagged } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import { GatewayError } from './providers/index.ts';
import { closeCheckout } from './checkout-close.ts';

/**
 * Asked by order expiry before it cancels an unpaid order, outside any transaction. Closes the order's
 * open checkout at the gateway first; if the gateway says it was paid meanwhile, the payment is confirmed
 * (the order becomes PAID) and the answer is 'keep'. 'keep' also when the gateway cannot be reached or the
 * money is on its way: the next expiry run asks again. A flagged payment does not hold the order ('cancel').
 */
export async function settleBeforeExpiry(deps: PaymentsDeps, orderId: string): Promise<'cancel' | 'keep'> {
  const payment = await repo.findActivePayment(deps.db, orderId);
  if (payment === undefined) return 'cancel';
  if (payment.status !== 'PENDING') return 'keep';
  // Flagged money waits for an admin only while the order may still be paid: an expired order is cancelled
  // and its flagged money refunded (OrderHooks.onUnpaidOrderCancelled, in the cancel's transaction).
  if (isFlagged(payment)) return 'cancel';
  try {
    const status = await closeCheckout(deps, payment, 'order expired');
    return status === 'CANCELED' || status === 'EXPIRED' || status === 'FAILED' ? 'cancel' : 'keep';
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    deps.logger.warn({ err: error, orderId }, 'expiry: gateway unavailable; the order waits for the next run');
    return 'keep';
  }
}
