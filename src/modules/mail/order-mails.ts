import type { Executor } from '../../db/database.ts';
import { formatMoney, toCurrency } from '../../shared/money.ts';
import type { MailQueue } from './queue.ts';
import { escapeHtml, type TemplateName } from './templates.ts';

/**
 * Domain events to mail (issue 16): the worker reads each outbox row once (outbox.mailed_at) and makes the mails it
 * calls for. Every mail is keyed by what it is about — `order.placed:<order>`, `order.paid:<order>`,
 * `order.shipped:<order>`, `order.closed:<order>`, `refund.succeeded:<refund>` — so an event seen twice (or two
 * events saying the same thing) never makes a second mail.
 */

export interface OutboxEvent {
  id: number;
  type: string;
  payload: unknown;
}

const money = (amount: number, currency: string): string => formatMoney({ amount, currency: toCurrency(currency) });
export const formatDate = (at: Date): string => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

async function loadOrder(db: Executor, orderId: string) {
  const order = await db
    .selectFrom('orders')
    .innerJoin('users', 'users.id', 'orders.user_id')
    .select([
      'orders.id',
      'orders.user_id',
      'orders.status',
      'orders.currency',
      'orders.total_amount',
      'orders.refunded_amount',
      'orders.carrier',
      'orders.tracking_number',
      'orders.expires_at',
      'orders.cancellation_reason',
      'users.email',
      'users.name',
      'users.deleted_at',
    ])
    .where('orders.id', '=', orderId)
    .executeTakeFirst();
  // A deleted account gets no mail: there is no address to send it to.
  if (order === undefined || order.deleted_at !== null) return undefined;
  const items = await db
    .selectFrom('order_items')
    .select(['name', 'sku', 'quantity', 'unit_amount', 'line_total'])
    .where('order_id', '=', orderId)
    .orderBy('line_no')
    .execute();
  return { ...order, items };
}
type LoadedOrder = NonNullable<Awaited<ReturnType<typeof loadOrder>>>;

function itemVars(order: LoadedOrder): { items: string; itemsHtml: string; total: string } {
  const total = money(Number(order.total_amount), order.currency);
  const lines = order.items.map(
    (i) =>
      `${i.quantity} × ${i.name} (${i.sku}) at ${money(Number(i.unit_amount), order.currency)}: ${money(Number(i.line_total), order.currency)}`,
  );
  const rows = order.items.map(
    (i) =>
      `<tr><td>${i.quantity} × ${escapeHtml(i.name)}</td><td style="text-align: right">${escapeHtml(money(Number(i.line_total), order.currency))}</td></tr>`,
  );
  const itemsHtml =
    `<table style="width: 100%; border-collapse: collapse">${rows.join('')}` +
    `<tr><td><strong>Total</strong></td><td style="text-align: right"><strong>${escapeHtml(total)}</strong></td></tr></table>`;
  return { items: lines.join('\n'), itemsHtml, total };
}

async function paidPayment(db: Executor, orderId: string) {
  return db
    .selectFrom('payments')
    .select(['id', 'provider', 'amount', 'currency', 'refunded_amount', 'succeeded_at', 'updated_at'])
    .where('order_id', '=', orderId)
    .where('status', 'in', ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'])
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

type OrderMail = { kind: string; template: TemplateName; vars: Record<string, string> };

async function orderMail(db: Executor, order: LoadedOrder, status: string): Promise<OrderMail | undefined> {
  if (status === 'CREATED') {
    return {
      kind: 'placed',
      template: 'order-placed',
      vars: { ...itemVars(order), expiresAt: formatDate(order.expires_at) },
    };
  }
  if (status === 'PAID') {
    const payment = await paidPayment(db, order.id);
    if (payment === undefined) return undefined;
    const paidAt = payment.succeeded_at ?? payment.updated_at;
    const vars = { paid: money(Number(payment.amount), payment.currency), paidAt: formatDate(paidAt) };
    return {
      kind: 'paid',
      template: 'order-paid',
      vars: { ...itemVars(order), ...vars, paymentId: payment.id, provider: payment.provider },
    };
  }
  if (status === 'SHIPPED') {
    const vars = { carrier: order.carrier ?? '', trackingNumber: order.tracking_number ?? '' };
    return { kind: 'shipped', template: 'order-shipped', vars };
  }
  if (status === 'CANCELLED') {
    const expired = order.cancellation_reason === 'expired';
    const why = expired
      ? 'it was not paid in time, and its items are back in stock'
      : (order.cancellation_reason ?? 'cancelled');
    return { kind: 'closed', template: 'order-closed', vars: { closed: expired ? 'expired' : 'cancelled', why } };
  }
  return undefined;
}

/** Refund mails: one per SUCCEEDED refund of the payment, whichever event brought it. */
async function refundMails(db: Executor, queue: MailQueue, paymentId: string, now: Date): Promise<void> {
  const payment = await db
    .selectFrom('payments')
    .select(['order_id', 'amount', 'currency', 'refunded_amount'])
    .where('id', '=', paymentId)
    .executeTakeFirst();
  if (payment === undefined) return;
  const order = await loadOrder(db, payment.order_id);
  if (order === undefined) return;
  const refunds = await db
    .selectFrom('refunds')
    .select(['id', 'amount', 'currency'])
    .where('payment_id', '=', paymentId)
    .where('status', '=', 'SUCCEEDED')
    .orderBy('created_at')
    .execute();
  for (const refund of refunds) {
    await queue.enqueue(
      db,
      {
        eventKey: `refund.succeeded:${refund.id}`,
        userId: order.user_id,
        to: order.email,
        template: 'order-refunded',
        vars: {
          name: order.name,
          orderId: order.id,
          refundId: refund.id,
          amount: money(Number(refund.amount), refund.currency),
          refundedTotal: money(Number(payment.refunded_amount), payment.currency),
          paid: money(Number(payment.amount), payment.currency),
        },
      },
      now,
    );
  }
}

/** Makes the mails one outbox event calls for (none for most). */
export async function mailsForEvent(db: Executor, queue: MailQueue, event: OutboxEvent, now: Date): Promise<void> {
  const payload = (event.payload ?? {}) as { orderId?: unknown; paymentId?: unknown; status?: unknown };
  if (event.type === 'payment.updated' && typeof payload.paymentId === 'string') {
    if (payload.status === 'REFUNDED' || payload.status === 'PARTIALLY_REFUNDED')
      await refundMails(db, queue, payload.paymentId, now);
    return;
  }
  if (event.type !== 'order.updated' || typeof payload.orderId !== 'string' || typeof payload.status !== 'string')
    return;
  const order = await loadOrder(db, payload.orderId);
  if (order === undefined) return;
  const mail = await orderMail(db, order, payload.status);
  if (mail === undefined) return;
  await queue.enqueue(
    db,
    {
      eventKey: `order.${mail.kind}:${order.id}`,
      userId: order.user_id,
      to: order.email,
      template: mail.template,
      vars: { name: order.name, orderId: order.id, ...mail.vars },
    },
    now,
  );
}
