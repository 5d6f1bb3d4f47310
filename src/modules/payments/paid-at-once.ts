import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { appendOutboxInline } from '../../db/outbox.ts';
import { lockCreatedOrderInline, payOrderInline } from '../orders/index.ts';
import type { PaymentFact } from './facts.ts';
import type { ConfirmContext, ConfirmResult } from './outcome.ts';
import { transitionPayment } from './payment-status.ts';
import { paymentColumnsSql } from './payment-columns.ts';
import type { PaymentRow } from './payments.repository.ts';

/**
 * The common confirmation in ONE statement (issue 11): the money the payment asked for, for a PENDING payment that
 * holds nothing yet and has no refunds, of an order still CREATED for that amount. What the locked path (markPaid in
 * confirmation.ts) writes then — the payment SUCCEEDED with its `payment.updated` message, the order PAID with its
 * audit entry and `order.updated` message — as data-modifying CTEs, each guarded by what that path would have read
 * under its locks: the order is locked first (created_order, FOR UPDATE), then the payment, and every condition is
 * checked again on the rows as they are when locked. If any does not hold (another fact moved the payment, the order
 * was cancelled, a refund arrived first), the statement writes nothing and returns undefined: the locked path
 * decides, as before. `found` is the payment as read without a lock (applyPaymentFact's first read). The payment and
the order move together or not at all: a statement that moved one without the other refuses itself (fulcrum_require),
and the caller's transaction is rolled back. When it paid, it answers with the payment as it wrote it (for the next
event of a worker's chunk, payment-reads.ts).
 */
export async function markPaidAtOnce(
  trx: Executor,
  found: PaymentRow,
  fact: Extract<PaymentFact, { kind: 'paid' }>,
  ctx: ConfirmContext,
  /**
   * The inbox row's mark as a CTE named `inbox_done` gated on `paid_order` (webhooks' quick path): written in this
   * statement, which then refuses itself unless it marked the row exactly when it paid the order (a lost lease).
   */
  inboxDone?: RawBuilder<unknown>,
): Promise<(ConfirmResult & { payment: PaymentRow }) | undefined> {
  const matches =
    found.status === 'PENDING' &&
    found.captured_amount === null &&
    found.flagged_reason === null &&
    found.refunded_amount === 0 &&
    fact.amount === found.amount &&
    fact.currency.toLowerCase() === found.currency;
  if (!matches || !transitionPayment('PENDING', 'SUCCEEDED').ok) return undefined;
  const { at } = ctx;
  const how = found.provider === 'manual' ? `confirmed by ${ctx.actor}` : 'confirmed by the gateway';
  const paymentUpdated = appendOutboxInline(
    {
      userId: found.user_id,
      type: 'payment.updated',
      payload: { paymentId: found.id, orderId: found.order_id, status: 'SUCCEEDED', at: at.toISOString() },
    },
    'paid_payment',
    'paid_payment_outbox',
  );
  const { rows } = await sql<{ paid: string | number } & Partial<PaymentRow>>`
    with ${lockCreatedOrderInline(found.order_id, { amount: found.amount, currency: found.currency })},
    pending_payment as (
      select id from payments
      where id = ${found.id}::text and order_id = ${found.order_id}::text and status = 'PENDING'
        and captured_amount is null and flagged_reason is null and refunded_amount = 0
        and amount = ${found.amount}::bigint and currency = ${found.currency}::text
        and exists (select 1 from created_order)
        and not exists (select 1 from refunds where payment_id = ${found.id}::text)
      for update
    ),
    paid_payment as (
      update payments
      set status = 'SUCCEEDED', succeeded_at = ${at}::timestamptz, updated_at = ${at}::timestamptz,
          gateway_payment_intent_id = coalesce(${fact.paymentIntentId}::text, gateway_payment_intent_id)
      where id = (select id from pending_payment) and status = 'PENDING'
      returning ${paymentColumnsSql()}
    ),
    ${payOrderInline({
      orderId: found.order_id,
      userId: found.user_id,
      gate: 'paid_payment',
      actor: { system: 'payments' },
      reason: `${found.id} ${how}`,
      at,
      paymentStatus: 'SUCCEEDED',
    })},
    ${paymentUpdated}${inboxDone === undefined ? sql`` : sql`, ${inboxDone}`}
    select (select count(*) from paid_order) as paid, ${paymentColumnsSql('paid_payment')}
    from (select 1) as one left join paid_payment on true
    where fulcrum_require((select count(*) from paid_payment) = (select count(*) from paid_order),
                          'payment_and_order_not_paid_together')
      ${
        inboxDone === undefined
          ? sql``
          : sql`and fulcrum_require((select count(*) from inbox_done) = (select count(*) from paid_order),
                                    'inbox_lease_lost')`
      }`.execute(trx);
  const row = rows[0];
  if (row === undefined || Number(row.paid) !== 1) return undefined;
  const { paid: _paid, ...payment } = row;
  return {
    outcome: { kind: 'paid', from: 'PENDING' },
    paymentId: found.id,
    refundsToIssue: [],
    payment: payment as PaymentRow,
  };
}
