import type { OrderHooks } from '../orders/index.ts';
import type { PaymentsDeps } from './deps.ts';
import { settleBeforeExpiry } from './expiry.ts';
import { isFlagged } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import { applyPaymentFact } from './confirmation.ts';
import { closeCheckoutOfClosedOrder } from './checkout-close.ts';
import { issueRefunds, paymentStatusOf, paymentViewsForOrders } from './payments.service.ts';
import { issueRefund, recordRequestedRefund } from './refunds.service.ts';
import { refundableAmount } from './refund-facts.ts';

/** How payments plugs into orders (see OrderHooks). */
export function createOrderHooks(deps: PaymentsDeps): OrderHooks {
  return {
    loadPayments: (db, orderIds) => paymentViewsForOrders(db, orderIds),
    paymentStatusOf: (trx, orderId) => paymentStatusOf(trx, orderId),
    // An admin cancelling a PAID order: the rest of its money is refunded in full. Recorded in the cancel's
    // transaction; the gateway is asked after commit (and by reconciliation if that fails).
    async onPaidOrderCancelled(trx, { order, actor, reason }, after) {
      const payment = await repo.findActivePayment(trx, order.id);
      if (payment === undefined || (await refundableAmount(trx, payment)) <= 0) return;
      const refund = await recordRequestedRefund(trx, payment.id, {
        reason: reason === null ? 'order cancelled' : `order cancelled: ${reason}`,
        actorId: actor.id,
        at: order.updated_at,
      });
      // Failed: the order is cancelled and the refund recorded; reconciliation asks the gateway again.
      after(() => issueRefund(deps, refund.id), {
        logger: deps.logger,
        message: 'refund after cancelling a paid order failed',
        fields: { refundId: refund.id },
      });
    },
    beforeExpire: (orderId) => settleBeforeExpiry(deps, orderId),
    // An unpaid order cancelled (by its customer, an admin or expiry) while its payment is flagged: the payment
    // is given up through the confirmation path, which refunds the flagged money; the gateway after commit.
    // Its checkout still open: closed at the gateway after commit, so the hosted page takes no money for it.
    async onUnpaidOrderCancelled(trx, { orderId, actor, reason }, after) {
      const payment = await repo.findActivePayment(trx, orderId);
      if (payment === undefined) return;
      if (!isFlagged(payment)) {
        if (payment.status !== 'PENDING' || payment.gateway_session_id === null) return;
        // Failed: the order is cancelled; reconciliation closes the checkout of a payment whose order is not payable.
        after(() => closeCheckoutOfClosedOrder(deps, payment), {
          logger: deps.logger,
          message: 'closing the checkout of a cancelled order failed',
          fields: { orderId },
        });
        return;
      }
      const result = await applyPaymentFact(
        trx,
        {
          kind: 'canceled',
          ref: { paymentId: payment.id, sessionId: null, paymentIntentId: null },
          reason: reason === null ? 'order cancelled' : `order cancelled: ${reason}`,
        },
        { at: deps.clock.now(), actor },
      );
      if (result.refundsToIssue.length === 0) return;
      after(() => issueRefunds(deps, result.refundsToIssue), {
        logger: deps.logger,
        message: 'refund of flagged money after cancelling the order failed',
        fields: { orderId },
      });
    },
  };
}
