import { sql, type RawBuilder } from 'kysely';
import { appendOutboxInline } from '../../db/outbox.ts';
import { transition } from './order-status.ts';
import { actorLabel, eventTypes, type OrderActor } from './orders.transition.ts';

/**
 * An order paid in the same statement as its payment (payments' markPaidAtOnce): transitionOrder's CREATED → PAID as
 * data-modifying CTEs, for the one common case where nothing needs deciding on the locked rows. Two parts, because
 * the order's row lock must come before the payment's, as in every payments transaction:
 *
 * - lockCreatedOrderInline: CTE `created_order`, the order locked (FOR UPDATE) if it is still CREATED and its total
 *   is the one given — empty otherwise, and then the statement changes nothing;
 * - payOrderInline: CTEs `paid_order` (the guarded UPDATE), `paid_order_event` (the audit entry, next seq) and
 *   `paid_order_outbox` (`order.updated` PAID), written only when the CTE named `gate` returned a row.
 */
export function lockCreatedOrderInline(
  orderId: string,
  total: { amount: number; currency: string },
): RawBuilder<unknown> {
  return sql`
    created_order as (
      select id from orders
      where id = ${orderId}::text and status = 'CREATED'
        and total_amount = ${total.amount}::bigint and currency = ${total.currency}::text
      for update
    )`;
}

export interface PayOrderInline {
  orderId: string;
  /** The order's owner, for its outbox message. */
  userId: string;
  /** A CTE that returns a row when the payment was moved: the order moves only then. */
  gate: string;
  actor: OrderActor;
  reason: string;
  at: Date;
  /** The order's payment status for the realtime message. */
  paymentStatus: string;
}

export function payOrderInline(p: PayOrderInline): RawBuilder<unknown> {
  // The same state machine as transitionOrder: the system may move CREATED to PAID.
  const decision = transition({ status: 'CREATED' }, 'PAID', 'system');
  if (!decision.ok) throw new Error('CREATED -> PAID is not a system move');
  const outbox = appendOutboxInline(
    {
      userId: p.userId,
      type: 'order.updated',
      payload: { orderId: p.orderId, status: 'PAID', paymentStatus: p.paymentStatus, at: p.at.toISOString() },
    },
    'paid_order',
    'paid_order_outbox',
  );
  return sql`
    paid_order as (
      update orders set status = 'PAID', paid_at = ${p.at}::timestamptz, updated_at = ${p.at}::timestamptz
      where id = (select id from created_order) and status = 'CREATED'
        and exists (select 1 from ${sql.table(p.gate)})
      returning id
    ),
    paid_order_event as (
      insert into order_events (order_id, seq, type, from_status, to_status, actor, reason, at)
      select paid_order.id,
             coalesce((select max(seq) from order_events where order_id = ${p.orderId}::text), 0) + 1,
             ${eventTypes.PAID}::text, 'CREATED', 'PAID', ${actorLabel(p.actor)}::text, ${p.reason}::text,
             ${p.at}::timestamptz
      from paid_order
      returning 1
    ),
    ${outbox}`;
}
