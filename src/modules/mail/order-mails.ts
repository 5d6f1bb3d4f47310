import type { Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { OrderItemsTable } from '../../db/schema.ts';
import { formatMoney, toCurrency } from '../../shared/money.ts';
import type { MailQueue, QueuedMail } from './queue.ts';
import { escapeHtml, type TemplateName } from './templates.ts';

/**
 * Domain events to mail (issue 16): the worker reads each outbox row once (outbox.mailed_at) and makes the mails it
 * calls for. Every mail is keyed by what it is about — `order.placed:<order>`, `order.paid:<order>`,
 * `order.shipped:<order>`, `order.closed:<order>`, `refund.succeeded:<refund>` — so an event seen twice (or two
 * events saying the same thing) never makes a second mail.
 *
 * A batch of events is mailed with a constant number of statements whatever its size (performance issue 11): the
 * payments of its refund events, its orders with their accounts, their items, the paid payments, the refunds — one
 * query each, and only those the batch needs — then one insert of all its mails.
 */

export interface OutboxEvent {
  id: number;
  type: string;
  payload: unknown;
}

const money = (amount: number, currency: string): string => formatMoney({ amount, currency: toCurrency(currency) });
export const formatDate = (at: Date): string => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** What an outbox event asks of the mail pass, if anything. */
type Wanted = { kind: 'order'; orderId: string; status: string } | { kind: 'refunds'; paymentId: string };

function wantedBy(event: OutboxEvent): Wanted | undefined {
  const payload = (event.payload ?? {}) as { orderId?: unknown; paymentId?: unknown; status?: unknown };
  if (event.type === 'payment.updated' && typeof payload.paymentId === 'string') {
    if (payload.status === 'REFUNDED' || payload.status === 'PARTIALLY_REFUNDED')
      return { kind: 'refunds', paymentId: payload.paymentId };
    return undefined;
  }
  if (event.type === 'order.updated' && typeof payload.orderId === 'string' && typeof payload.status === 'string')
    return { kind: 'order', orderId: payload.orderId, status: payload.status };
  return undefined;
}

const unique = (values: Iterable<string>): string[] => [...new Set(values)];

/** The orders with their accounts, in one query. A deleted account's order is left out: it gets no mail. */
async function loadOrders(db: Executor, orderIds: readonly string[]) {
  if (orderIds.length === 0) return new Map<string, never>();
  const orders = await db
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
    .where('orders.id', 'in', orderIds)
    .execute();
  // A deleted account gets no mail: there is no address to send it to.
  return new Map(orders.filter((order) => order.deleted_at === null).map((order) => [order.id, order]));
}
type LoadedOrder = Awaited<ReturnType<typeof loadOrders>> extends Map<string, infer O> ? O : never;

type Item = Pick<Selectable<OrderItemsTable>, 'name' | 'sku' | 'quantity' | 'unit_amount' | 'line_total'>;

/** The items of the orders, in one query: each order's in line order. */
async function loadItems(db: Executor, orderIds: readonly string[]): Promise<Map<string, Item[]>> {
  const byOrder = new Map<string, Item[]>();
  if (orderIds.length === 0) return byOrder;
  const rows = await db
    .selectFrom('order_items')
    .select(['order_id', 'name', 'sku', 'quantity', 'unit_amount', 'line_total'])
    .where('order_id', 'in', orderIds)
    .orderBy('order_id')
    .orderBy('line_no')
    .execute();
  for (const { order_id: orderId, ...item } of rows) {
    const list = byOrder.get(orderId);
    if (list === undefined) byOrder.set(orderId, [item]);
    else list.push(item);
  }
  return byOrder;
}

function itemVars(order: LoadedOrder, items: readonly Item[]): { items: string; itemsHtml: string; total: string } {
  const total = money(Number(order.total_amount), order.currency);
  const lines = items.map(
    (i) =>
      `${i.quantity} × ${i.name} (${i.sku}) at ${money(Number(i.unit_amount), order.currency)}: ${money(Number(i.line_total), order.currency)}`,
  );
  const rows = items.map(
    (i) =>
      `<tr><td>${i.quantity} × ${escapeHtml(i.name)}</td><td style="text-align: right">${escapeHtml(money(Number(i.line_total), order.currency))}</td></tr>`,
  );
  const itemsHtml =
    `<table style="width: 100%; border-collapse: collapse">${rows.join('')}` +
    `<tr><td><strong>Total</strong></td><td style="text-align: right"><strong>${escapeHtml(total)}</strong></td></tr></table>`;
  return { items: lines.join('\n'), itemsHtml, total };
}

/** Each order's latest paid (succeeded, then maybe refunded) payment, in one query. */
async function paidPayments(db: Executor, orderIds: readonly string[]) {
  if (orderIds.length === 0) return new Map<string, never>();
  const payments = await db
    .selectFrom('payments')
    .distinctOn('order_id')
    .select(['order_id', 'id', 'provider', 'amount', 'currency', 'refunded_amount', 'succeeded_at', 'updated_at'])
    .where('order_id', 'in', orderIds)
    .where('status', 'in', ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'])
    .orderBy('order_id')
    .orderBy('created_at', 'desc')
    .execute();
  return new Map(payments.map((payment) => [payment.order_id, payment]));
}
type PaidPayment = Awaited<ReturnType<typeof paidPayments>> extends Map<string, infer P> ? P : never;

/** The payments that refund events name, in one query. */
async function refundedPayments(db: Executor, paymentIds: readonly string[]) {
  if (paymentIds.length === 0) return new Map<string, never>();
  const payments = await db
    .selectFrom('payments')
    .select(['id', 'order_id', 'amount', 'currency', 'refunded_amount'])
    .where('id', 'in', paymentIds)
    .execute();
  return new Map(payments.map((payment) => [payment.id, payment]));
}

/** The SUCCEEDED refunds of the payments, in one query: each payment's oldest first. */
async function succeededRefunds(db: Executor, paymentIds: readonly string[]) {
  const byPayment = new Map<string, { id: string; amount: number; currency: string }[]>();
  if (paymentIds.length === 0) return byPayment;
  const rows = await db
    .selectFrom('refunds')
    .select(['payment_id', 'id', 'amount', 'currency'])
    .where('payment_id', 'in', paymentIds)
    .where('status', '=', 'SUCCEEDED')
    .orderBy('created_at')
    .execute();
  for (const { payment_id: paymentId, ...refund } of rows) {
    const list = byPayment.get(paymentId);
    if (list === undefined) byPayment.set(paymentId, [refund]);
    else list.push(refund);
  }
  return byPayment;
}

type OrderMail = { kind: string; template: TemplateName; vars: Record<string, string> };

function orderMail(
  order: LoadedOrder,
  status: string,
  items: readonly Item[],
  payment: PaidPayment | undefined,
): OrderMail | undefined {
  if (status === 'CREATED') {
    return {
      kind: 'placed',
      template: 'order-placed',
      vars: { ...itemVars(order, items), expiresAt: formatDate(order.expires_at) },
    };
  }
  if (status === 'PAID') {
    if (payment === undefined) return undefined;
    const paidAt = payment.succeeded_at ?? payment.updated_at;
    const vars = { paid: money(Number(payment.amount), payment.currency), paidAt: formatDate(paidAt) };
    return {
      kind: 'paid',
      template: 'order-paid',
      vars: { ...itemVars(order, items), ...vars, paymentId: payment.id, provider: payment.provider },
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

/**
 * Makes the mails a batch of outbox events calls for (none for most), in the events' order, with one insert that
 * also marks the events' outbox rows read by the mail pass (`mailed_at`). Refund mails: one per SUCCEEDED refund of
 * the payment, whichever event brought it. Returns how many mails this call made (a mail that existed for its key is
 * not made again).
 */
export async function mailsForEvents(
  db: Executor,
  queue: MailQueue,
  events: readonly OutboxEvent[],
  now: Date,
): Promise<number> {
  const wanted = events.map(wantedBy).filter((w) => w !== undefined);
  const orderEvents = wanted.filter((w) => w.kind === 'order');
  const refundEvents = wanted.filter((w) => w.kind === 'refunds');

  const payments = await refundedPayments(db, unique(refundEvents.map((e) => e.paymentId)));
  const orders = await loadOrders(
    db,
    unique([...orderEvents.map((e) => e.orderId), ...[...payments.values()].map((p) => p.order_id)]),
  );
  const live = (orderId: string): boolean => orders.has(orderId);
  const needItems = orderEvents.filter((e) => live(e.orderId) && (e.status === 'CREATED' || e.status === 'PAID'));
  const items = await loadItems(db, unique(needItems.map((e) => e.orderId)));
  const needPayment = orderEvents.filter((e) => live(e.orderId) && e.status === 'PAID');
  const paid = await paidPayments(db, unique(needPayment.map((e) => e.orderId)));
  const refunds = await succeededRefunds(
    db,
    unique([...payments.values()].filter((p) => live(p.order_id)).map((p) => p.id)),
  );

  const mails: QueuedMail[] = [];
  for (const event of wanted) {
    if (event.kind === 'refunds') {
      const payment = payments.get(event.paymentId);
      const order = payment === undefined ? undefined : orders.get(payment.order_id);
      if (payment === undefined || order === undefined) continue;
      for (const refund of refunds.get(payment.id) ?? []) {
        mails.push({
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
        });
      }
      continue;
    }
    const order = orders.get(event.orderId);
    if (order === undefined) continue;
    const mail = orderMail(order, event.status, items.get(order.id) ?? [], paid.get(order.id));
    if (mail === undefined) continue;
    mails.push({
      eventKey: `order.${mail.kind}:${order.id}`,
      userId: order.user_id,
      to: order.email,
      template: mail.template,
      vars: { name: order.name, orderId: order.id, ...mail.vars },
    });
  }
  return queue.enqueueMany(
    db,
    mails,
    now,
    events.map((e) => e.id),
  );
}
