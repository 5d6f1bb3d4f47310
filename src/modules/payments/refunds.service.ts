import type { Executor } from '../../db/database.ts';
import type { VersionCondition } from '../../http/if-match.ts';
import type { Actor } from '../../shared/actor.ts';
import { conflict, notFound } from '../../shared/errors.ts';
import { money, toCurrency } from '../../shared/money.ts';
import { requirePermission } from '../auth/index.ts';
import { checkOrderVersion } from '../orders/index.ts';
import { applyPaymentFact } from './confirmation.ts';
import type { PaymentsDeps } from './deps.ts';
import { describeMoney, recordOrderEvent } from './payment-events.ts';
import * as repo from './payments.repository.ts';
import type { PaymentRow, RefundRow } from './payments.repository.ts';
import { GatewayError, providerOf } from './providers/index.ts';
import { flagMoneyNotReturned, recordRefund } from './refund-facts.ts';

/**
 * Records a PENDING refund of `amount` (default: all that is left) inside the caller's transaction, through
 * `recordRefund`: the payment row is locked here (after its order), so two refunds at once can never exceed what
 * was captured. More than is left: 409 `refund_exceeds_captured`.
 */
export async function recordRequestedRefund(
  trx: Executor,
  paymentId: string,
  input: { amount?: number | undefined; reason: string | null; actorId: string; at: Date; ifMatch?: VersionCondition },
): Promise<RefundRow> {
  const found = await repo.findPayment(trx, paymentId);
  if (found === undefined) throw notFound('Payment');
  const order = await repo.lockOrderForPayment(trx, found.order_id);
  const payment = await repo.lockPayment(trx, paymentId);
  if (order === undefined || payment === undefined) throw notFound('Payment');
  // If-Match names the order's version (the refund changes the order): checked under the order's row lock.
  checkOrderVersion(input.ifMatch, order);
  const recorded = await recordRefund(trx, order, payment, {
    amount: input.amount,
    reason: input.reason,
    initiatedBy: input.actorId,
    eventType: 'refund.requested',
    actor: input.actorId,
    note: (r) =>
      `${r.id} ${describeMoney(r.amount, payment.currency)}${input.reason === null ? '' : `: ${input.reason}`}`,
    at: input.at,
  });
  if ('refund' in recorded) return recorded.refund;
  const left = recorded.refundable;
  throw conflict('refund_exceeds_captured', `At most ${describeMoney(left, payment.currency)} can be refunded.`, {
    refundable: money(Math.max(0, left), toCurrency(payment.currency)),
  });
}

/**
 * Asks the gateway for a recorded refund (idempotent on the refund id, so asking twice refunds once) and
 * applies its answer through the confirmation path. Unreachable gateway: the refund stays PENDING and
 * reconciliation asks again. A refusal: FAILED, with the reason.
 */
export async function issueRefund(deps: PaymentsDeps, refundId: string): Promise<RefundRow> {
  const refund = await repo.findRefund(deps.db, refundId);
  if (refund === undefined) throw notFound('Refund');
  if (refund.status !== 'PENDING' || refund.gateway_refund_id !== null) return refund;
  const payment = (await repo.findPayment(deps.db, refund.payment_id))!;
  try {
    const fact = await providerOf(deps.providers, payment.provider).refund({
      refundId: refund.id,
      paymentId: payment.id,
      paymentIntentId: payment.gateway_payment_intent_id,
      amount: refund.amount,
      currency: refund.currency,
      reason: refund.reason,
    });
    await deps.db.transaction().execute((trx) =>
      applyPaymentFact(
        trx,
        {
          kind: 'refund',
          ref: { paymentId: payment.id, sessionId: null, paymentIntentId: null },
          refund: { ...fact, refundId: refund.id },
        },
        { at: deps.clock.now(), actor: 'system:payments' },
      ),
    );
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    if (error.kind === 'unavailable') {
      deps.logger.warn({ err: error, refundId }, 'refund: gateway unavailable; reconciliation will ask again');
      return refund;
    }
    await rejectRefund(deps, payment, refund, error.message);
  }
  return (await repo.findRefund(deps.db, refundId))!;
}

async function rejectRefund(deps: PaymentsDeps, payment: PaymentRow, refund: RefundRow, why: string): Promise<void> {
  const at = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    const order = await repo.lockOrderForPayment(trx, payment.order_id);
    const locked = await repo.lockPayment(trx, payment.id);
    const updated = await trx
      .updateTable('refunds')
      .set({ status: 'FAILED', failure_reason: why, updated_at: at })
      .where('id', '=', refund.id)
      .where('status', '=', 'PENDING')
      .returning('id')
      .executeTakeFirst();
    if (updated !== undefined && order !== undefined) {
      const what = `${refund.id} ${describeMoney(refund.amount, refund.currency)}: ${why}`;
      await recordOrderEvent(trx, order, 'refund.failed', 'system:payments', what, at);
      if (locked !== undefined) await flagMoneyNotReturned(trx, order, locked, refund.id, why, 'system:payments', at);
    }
  });
}

/** POST /admin/payments/:id/refunds: record, then ask the gateway. */
export async function requestRefund(
  deps: PaymentsDeps,
  actor: Actor,
  paymentId: string,
  input: { amount?: number | undefined; reason?: string | undefined; ifMatch?: VersionCondition },
  /** Runs inside the refund's transaction: the route records the idempotent answer with the refund itself. */
  recordResult?: (trx: Executor, refund: RefundRow) => Promise<void>,
): Promise<RefundRow> {
  requirePermission(actor, 'refund');
  const at = deps.clock.now();
  const refund = await deps.db.transaction().execute(async (trx) => {
    const recorded = await recordRequestedRefund(trx, paymentId, {
      amount: input.amount,
      reason: input.reason ?? null,
      actorId: actor.id,
      at,
      ifMatch: input.ifMatch,
    });
    await recordResult?.(trx, recorded);
    return recorded;
  });
  return issueRefund(deps, refund.id);
}
