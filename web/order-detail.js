// @ts-check
// One order in full, for the admin dashboard and the storefront alike: items, customer, shipping address,
// payments and refunds, shipment tracking, the unpaid expiry time and the timeline (GET /orders/:id/events).
// Only text goes into the page (el() sets textContent); the caller decides what surrounds it (actions, close).
import { el, money, when } from './api.js';

/** @typedef {{ amount: number, currency: string }} Money */
/** @typedef {{ id: string, status: string, amount: Money, reason: string | null, createdAt: string }} Refund */
/**
 * @typedef {{ id: string, provider: string, status: string, amount: Money, refunded: Money, createdAt: string,
 *   succeededAt: string | null, failureReason: string | null, flaggedReason: string | null, refunds: Refund[] }} Payment
 */
/** @typedef {{ seq: number, type: string, from: string | null, to: string, actor: string, reason: string | null, at: string }} OrderEvent */
/** @typedef {{ orderId: string, order: any, payments: Payment[], events: OrderEvent[] }} Detail */

/**
 * Reads what the detail shows, in parallel. `call` is the page's session.call.
 * @param {(method: string, path: string) => Promise<any>} call
 * @param {string} orderId
 * @returns {Promise<Detail>}
 */
export async function loadDetail(call, orderId) {
  const base = `/orders/${encodeURIComponent(orderId)}`;
  const [order, payments, events] = await Promise.all([
    call('GET', base),
    call('GET', `${base}/payments`),
    call('GET', `${base}/events`),
  ]);
  return { orderId, order, payments: payments.data, events: events.data };
}

const EVENT_WORDS = {
  'order.created': 'Order placed',
  'order.paid': 'Paid',
  'order.shipped': 'Shipped',
  'order.delivered': 'Delivered',
  'order.cancelled': 'Cancelled',
  'order.expired': 'Expired unpaid',
  'payment.flagged': 'Payment flagged for review',
  'payment.flag_accepted': 'Flagged payment accepted',
  'payment.flag_refunded': 'Flagged payment refunded',
  'payment.auto_refund': 'Late payment refunded automatically',
  'refund.requested': 'Refund requested',
  'refund.succeeded': 'Refund completed',
  'refund.failed': 'Refund failed',
};

/** A definition list from [term, value] pairs; pairs with an empty value are left out. */
function facts(pairs) {
  const list = el('dl', { className: 'facts' });
  for (const [term, value] of pairs) {
    if (value === '' || value === null || value === undefined) continue;
    list.append(el('dt', {}, term), el('dd', {}, value));
  }
  return list;
}

function section(title, ...children) {
  return el('section', { className: 'detail-part' }, el('h3', {}, title), ...children);
}

function itemsTable(order) {
  const rows = order.items.map((/** @type {any} */ i) =>
    el(
      'tr',
      {},
      el('td', { dataset: { label: 'Product' } }, i.name, el('div', { className: 'muted' }, i.sku)),
      el('td', { className: 'num', dataset: { label: 'Quantity' } }, String(i.quantity)),
      el('td', { className: 'num', dataset: { label: 'Unit price' } }, money(i.unitPrice)),
      el('td', { className: 'num', dataset: { label: 'Line total' } }, money(i.lineTotal)),
    ),
  );
  const head = el(
    'thead',
    {},
    el(
      'tr',
      {},
      ['Product', 'Quantity', 'Unit price', 'Line total'].map((h) => el('th', { scope: 'col' }, h)),
    ),
  );
  return el(
    'div',
    { className: 'scroll' },
    el('table', { className: 'table cards items' }, head, el('tbody', {}, rows)),
  );
}

function paymentsList(payments) {
  if (payments.length === 0) return el('p', { className: 'muted' }, 'No payment yet.');
  return el(
    'ul',
    { className: 'list payments' },
    payments.map((p) =>
      el(
        'li',
        { dataset: { paymentId: p.id } },
        el('strong', {}, `${money(p.amount)} — ${p.status}`),
        ` by ${p.provider}, started ${when(p.createdAt)}`,
        p.succeededAt ? `, received ${when(p.succeededAt)}` : '',
        p.failureReason ? el('div', { className: 'bad-text' }, `Failed: ${p.failureReason}`) : null,
        p.flaggedReason ? el('div', { className: 'bad-text' }, `Flagged: ${p.flaggedReason}`) : null,
        p.refunds.length === 0
          ? null
          : el(
              'ul',
              { className: 'refunds' },
              p.refunds.map((r) =>
                el(
                  'li',
                  { dataset: { refundId: r.id } },
                  `Refund ${money(r.amount)} — ${r.status}, ${when(r.createdAt)}`,
                  r.reason ? ` (${r.reason})` : '',
                ),
              ),
            ),
      ),
    ),
  );
}

/**
 * The timeline, oldest first. `actorName` turns an actor (a user id or system:…) into words for this reader,
 * `reasonText` an event's reason (null leaves it out).
 * @param {OrderEvent[]} events @param {View} view
 */
function timeline(events, { actorName, reasonText = (e) => e.reason }) {
  return el(
    'ol',
    { className: 'timeline' },
    events.map((e) =>
      el(
        'li',
        { dataset: { type: e.type } },
        el('time', { dateTime: e.at }, when(e.at)),
        ' ',
        el('strong', {}, EVENT_WORDS[e.type] ?? e.type),
        e.from && e.from !== e.to ? ` (${e.from} → ${e.to})` : '',
        ` — ${actorName(e.actor)}`,
        reasonText(e) ? el('div', { className: 'muted' }, reasonText(e)) : null,
      ),
    ),
  );
}

/** Until when an unpaid order is held, or what happened instead. */
function expiryText(order) {
  if (order.status === 'CREATED') return `${when(order.expiresAt)} — cancelled automatically if not paid by then`;
  if (order.cancellationReason === 'expired') return `Expired unpaid at ${when(order.cancelledAt)}`;
  return '';
}

/**
 * @typedef {{ statusText: string, actorName: (actor: string) => string,
 *   reasonText?: (event: OrderEvent) => string | null }} View
 */

/**
 * The order's parts as elements. `statusText` is what the reader is told about the status (the storefront's
 * words, or the admin's status and payment); `actorName` names who did each step for this reader, and
 * `reasonText` (default: the reason as recorded) what of an event's reason they are shown.
 * @param {Detail} detail
 * @param {View} view
 */
export function renderDetail(detail, view) {
  const { order, payments, events } = detail;
  const address = order.shippingAddress;
  const shipment = order.shipment;
  return [
    facts([
      ['Status', view.statusText],
      ['Placed', when(order.createdAt)],
      ['Pay by', expiryText(order)],
      ['Paid', when(order.paidAt)],
      ['Customer', order.customer ? `${order.customer.name} <${order.customer.email}>` : order.userId],
      ['Total', money(order.total)],
      ['Refunded', order.refunded?.amount > 0 ? money(order.refunded) : ''],
      ['Cancelled', order.cancelledAt ? `${when(order.cancelledAt)} (${order.cancellationReason ?? ''})` : ''],
    ]),
    section('Items', itemsTable(order)),
    section(
      'Shipping',
      address
        ? el(
            'address',
            {},
            [address.name, address.line1, address.line2, `${address.postalCode} ${address.city}`, address.country]
              .filter(Boolean)
              .map((line) => el('div', {}, line)),
          )
        : el('p', { className: 'muted' }, 'No shipping address.'),
      shipment
        ? facts([
            ['Carrier', shipment.carrier],
            ['Tracking', shipment.trackingNumber],
            ['Shipped', when(shipment.shippedAt)],
            ['Delivered', when(shipment.deliveredAt)],
          ])
        : el('p', { className: 'muted' }, 'Not shipped yet.'),
    ),
    section('Payments and refunds', paymentsList(payments)),
    section('Timeline', timeline(events, view)),
  ];
}

/**
 * The detail panel's state, for both pages: the order shown as last read (null while closed). Only the newest
 * read renders, so a slower earlier one never puts an older state back; a read that changes nothing keeps the
 * panel as it is, with what is typed or focused in it.
 * @param {(method: string, path: string) => Promise<any>} call
 * @param {() => void} render draws `current()` (or hides the panel when it is null)
 */
export function detailPanel(call, render) {
  /** @type {Detail | null} */
  let shown = null;
  let reads = 0;
  /** @param {string} orderId */
  async function reload(orderId) {
    const mine = ++reads;
    const detail = await loadDetail(call, orderId);
    if (mine !== reads || (shown && shown.orderId !== orderId)) return;
    if (shown && JSON.stringify(detail) === JSON.stringify(shown)) return;
    shown = detail;
    render();
  }
  return {
    current: () => shown,
    /** Shows a newer state at once (an action's answer). @param {Detail} detail */
    show(detail) {
      shown = detail;
      render();
    },
    reload,
    /** Opens the panel on an order and moves focus to its heading. @param {string} orderId */
    async open(orderId) {
      shown = null;
      await reload(orderId);
      document.getElementById('order-detail')?.scrollIntoView({ block: 'start' });
      document.getElementById('order-detail-title')?.focus();
    },
    /** Closes the panel; answers the id it showed. */
    close() {
      reads++;
      const id = shown?.orderId;
      shown = null;
      render();
      return id;
    },
  };
}

/**
 * Puts an order into the page's detail panel, or hides the panel when there is none: a heading with the order's
 * id (focusable, for open()), the page's extra head parts, a Close button, then the page's body.
 * @param {HTMLElement} panel
 * @param {{ id: string } | null} order
 * @param {() => void} onClose
 * @param {() => { head?: Node[], body: Node[] }} parts built only when there is an order
 */
export function fillPanel(panel, order, onClose, parts) {
  if (!order) {
    panel.hidden = true;
    panel.replaceChildren();
    return;
  }
  const { head = [], body } = parts();
  const close = el('button', { type: 'button', className: 'link' }, 'Close');
  close.addEventListener('click', onClose);
  panel.dataset.orderId = order.id;
  panel.hidden = false;
  panel.replaceChildren(
    el(
      'div',
      { className: 'inline detail-head' },
      el('h2', { id: 'order-detail-title', tabIndex: -1 }, 'Order ', el('code', {}, order.id)),
      ...head,
      close,
    ),
    ...body,
  );
}
