// Held and flagged money: money a payment records outside the order's payment (captured_amount, captured_currency
// on a payment that is not SUCCEEDED or refunded). Flagged: mismatched money on a PENDING payment of a CREATED
// order, waiting for an admin (resolveFlagged). Otherwise it is refunded in full at once (refundHeldMoney).
// The payments README (§ Decisions: mismatched money, late money, flagged payments) says when each applies.
import type { Executor } from '../../db/database.ts';
import { conflict } from '../../shared/errors.ts';
import type { PaymentFact } from './facts.ts';
import type { ConfirmContext, ConfirmResult } from './outcome.ts';
import { describeMoney, recordOrderEvent, setPaymentStatus } from './payment-events.ts';
import { heldMoney, isFlagged } from './payment-status.ts';
import * as repo from './payments.repository.ts';
import type { OrderForPayment, PaymentRow } from './payments.repository.ts';
import { recordRefund, refundOf } from './refund-facts.ts';

export interface Money {
  amount: number;
  currency: string;
}

/**
 * Mismatched money (amount or currency ≠ the order). For a PENDING payment of a CREATED order it is held for an
 * admin — flagged, the money recorded as it arrived, an order event `payment.flagged` — who accepts it as the order's
 * payment or refunds it (resolveFlagged). Money nobody could accept any more (the order is closed, or the payment
 * was given up, or another payment holds the order's money) is refunded at once.
 */
export async function holdMismatchedMoney(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  input: { received: Money; intentId: string | null; superseded: boolean; ctx: ConfirmContext },
): Promise<ConfirmResult> {
  const { received, intentId, ctx } = input;
  const expected = describeMoney(order.total_amount, order.currency);
  const receivedText = describeMoney(received.amount, received.currency);
  if (payment.status === 'PENDING' && order.status === 'CREATED') {
    const reason = `received ${receivedText}, expected ${expected}: not marked paid, an admin must review it`;
    await repo.updatePayment(trx, payment.id, {
      flagged_reason: payment.flagged_reason ?? reason,
      captured_amount: received.amount,
      captured_currency: received.currency,
      gateway_payment_intent_id: intentId,
      updated_at: ctx.at,
    });
    if (payment.flagged_reason === null) {
      await recordOrderEvent(trx, order, 'payment.flagged', ctx.actor, `${payment.id}: ${reason}`, ctx.at);
    }
    return { outcome: { kind: 'flagged', reason }, paymentId: payment.id, refundsToIssue: [] };
  }
  const why = input.superseded
    ? 'duplicate_payment'
    : order.status === 'CANCELLED'
      ? 'order_cancelled'
      : 'amount_mismatch';
  return refundHeldMoney(trx, order, payment, {
    received,
    intentId,
    flaggedReason: `received ${receivedText}, expected ${expected}: not marked paid, refunded automatically`,
    why,
    note: `${payment.id} (${payment.status}) received ${receivedText}, expected ${expected}, for a ${order.status} order`,
    ctx,
  });
}

/**
 * Money that will never be the order's payment (late money for a payment no longer the order's active one,
 * or mismatched money nobody can accept): recorded as held money on the payment, which stays closed (PENDING
 * becomes CANCELED) and so never a second money-holding payment of the order, and refunded in full.
 * The gateway is asked after commit; refund events then move the refund and the payment's `refunded`.
 */
export async function refundHeldMoney(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  input: {
    received: Money;
    intentId: string | null;
    flaggedReason: string | null;
    why: string;
    note: string;
    ctx: ConfirmContext;
  },
): Promise<ConfirmResult> {
  const { at, actor } = input.ctx;
  const values = {
    captured_amount: input.received.amount,
    captured_currency: input.received.currency,
    gateway_payment_intent_id: input.intentId,
    ...(input.flaggedReason === null ? {} : { flagged_reason: input.flaggedReason }),
  };
  const held =
    payment.status === 'PENDING'
      ? await setPaymentStatus(trx, payment, 'CANCELED', { ...values, failure_reason: input.why }, at)
      : await repo.updatePayment(trx, payment.id, { ...values, updated_at: at });
  const refund = refundOf(
    await recordRefund(trx, order, held, {
      reason: input.why,
      initiatedBy: 'system',
      eventType: 'payment.auto_refund',
      actor,
      note: (r) => `${input.note}; refunding in full (${input.why}) as ${r.id}`,
      at,
    }),
  );
  return {
    outcome: {
      kind: 'held_money_refunded',
      from: payment.status,
      to: held.status,
      money: input.received,
      why: input.why,
      refundId: refund?.id ?? null,
    },
    paymentId: payment.id,
    refundsToIssue: refund === undefined ? [] : [refund.id],
  };
}

/**
 * An admin's decision on a flagged payment (see the `resolve` fact). Throws 409 when it cannot be taken. `refund`:
 * done here. `accept`: the payment's amount becomes the money held, and the caller makes it the order's payment
 * (markPaid, as for a gateway confirmation) with the `accepted` row.
 */
export async function resolveFlagged(
  trx: Executor,
  order: OrderForPayment,
  payment: PaymentRow,
  fact: Extract<PaymentFact, { kind: 'resolve' }>,
  ctx: ConfirmContext,
): Promise<ConfirmResult | { accepted: PaymentRow }> {
  const { at, actor } = ctx;
  const held = heldMoney(payment);
  if (!isFlagged(payment) || held === null) {
    throw conflict(
      'invalid_transition',
      `Payment ${payment.id} is not flagged for an admin (it is ${payment.status}).`,
      {
        status: payment.status,
      },
    );
  }
  const money = describeMoney(held.amount, held.currency);
  const why = fact.reason === null ? '' : `: ${fact.reason}`;
  if (fact.action === 'accept') {
    if (order.status !== 'CREATED') {
      throw conflict('invalid_transition', `The order is ${order.status}: the money can only be refunded.`, {
        status: order.status,
      });
    }
    if (held.currency !== order.currency) {
      throw conflict('invalid_transition', `The order is paid in ${order.currency}, not ${held.currency}: refund it.`, {
        status: order.status,
      });
    }
    await recordOrderEvent(trx, order, 'payment.flag_accepted', actor, `${payment.id}: ${money} accepted${why}`, at);
    const accepted = await repo.updatePayment(trx, payment.id, {
      amount: held.amount,
      currency: held.currency,
      updated_at: at,
    });
    return { accepted };
  }
  const closed = await setPaymentStatus(trx, payment, 'CANCELED', { failure_reason: 'flagged money refunded' }, at);
  const refund = refundOf(
    await recordRefund(trx, order, closed, {
      reason: fact.reason ?? 'flagged_payment',
      initiatedBy: actor,
      eventType: 'payment.flag_refunded',
      actor,
      note: (r) => `${payment.id}: ${money} refunded in full${why} as ${r.id}`,
      at,
    }),
  );
  return {
    outcome: { kind: 'flag_refunded', refundId: refund?.id ?? null },
    paymentId: payment.id,
    refundsToIssue: refund === undefined ? [] : [refund.id],
  };
}
