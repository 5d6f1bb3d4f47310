import type { Executor } from '../../db/database.ts';
import { transitionOrder } from '../orders/index.ts';
import type { ConfirmContext, ConfirmResult } from './outcome.ts';
import { describeMoney, setPaymentStatus } from './payment-events.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import { recomputeRefunds, recordFullRefund } from './refund-facts.ts';

/**
 * Money becomes the order's payment: SUCCEEDED, the order PAID if it is still CREATED; for an order closed
 * meanwhile (cancelled, or paid otherwise) it is refunded in full, automatically. Webhooks, reconciliation,
 * manual confirmation and an admin accepting flagged money all end here.
 */
export async function markPaid(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  intentId: string | null,
  ctx: ConfirmContext,
  how: string,
): Promise<ConfirmResult> {
  const { at, actor } = ctx;
  const from = payment.status;
  const answer = (outcome: ConfirmResult['outcome'], refundsToIssue: string[] = []): ConfirmResult => ({
    outcome,
    paymentId: payment.id,
    refundsToIssue,
  });
  const paid = await setPaymentStatus(
    trx,
    payment,
    'SUCCEEDED',
    { succeeded_at: at, gateway_payment_intent_id: intentId },
    at,
  );
  // Refund events may have arrived before this one (any order of arrival): count them now.
  const settled = await recomputeRefunds(trx, order, paid, at);

  if (order.status === 'CREATED') {
    await transitionOrder(trx, order.id, 'PAID', {
      actor: { system: 'payments' },
      at,
      reason: `${payment.id} ${how}`,
      paymentStatus: settled.status,
    });
    return answer({ kind: 'paid', from });
  }

  // The order was cancelled (or paid otherwise) before the money arrived: give it back, automatically.
  const received = describeMoney(payment.amount, payment.currency);
  const refund = await recordFullRefund(trx, order, settled, {
    reason: order.status === 'CANCELLED' ? 'order_cancelled' : 'duplicate_payment',
    initiatedBy: 'system',
    eventType: 'payment.auto_refund',
    actor,
    note: `${payment.id} received ${received} for a ${order.status} order; refunding in full`,
    at,
  });
  const outcome = { kind: 'paid_closed_order', from, order: order.status, refundId: refund?.id ?? null } as const;
  return answer(outcome, refund === undefined ? [] : [refund.id]);
}
