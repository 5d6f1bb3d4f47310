// @ts-check
// The orders tab: the list (filter, pages), live over the staff feed, and the actions — ship, deliver, cancel —
// each sent with If-Match (the version the row shows). When the order moved on meanwhile the API answers 412
// with the order as it is now: the row shows that, and the admin is asked again (or told the action is gone).
import { busy, clear, el, money, when } from './api.js';
import { $, ask, isAdmin, notify, registerTab, safely, session } from './admin-shell.js';
import { onLive } from './admin-live.js';
import { refundable, refundOrder } from './admin-refund.js';

const rows = new Map(); // orderId -> { order, fill }
let cursor = null;
// Only the newest list request renders: an older answer arriving late would replace rows with stale ones.
let request = 0;

const describeStatus = (o) => `${o.status}${o.payment ? `, payment ${o.payment.status}` : ''}`;
const left = (o) => ({ amount: o.total.amount - (o.refunded?.amount ?? 0), currency: o.total.currency });

const actions = {
  ship: {
    label: 'Ship',
    possible: (o) => isAdmin() && o.status === 'PAID',
    path: (o) => `/admin/orders/${encodeURIComponent(o.id)}/ship`,
    question: (o) => `Ship order ${o.id} now?`,
    done: (o) => `Order ${o.id} shipped.`,
  },
  deliver: {
    label: 'Mark delivered',
    possible: (o) => isAdmin() && o.status === 'SHIPPED',
    path: (o) => `/admin/orders/${encodeURIComponent(o.id)}/deliver`,
    question: (o) => `Mark order ${o.id} delivered?`,
    done: (o) => `Order ${o.id} delivered.`,
  },
  cancel: {
    label: 'Cancel',
    possible: (o) => o.status === 'CREATED' || (isAdmin() && o.status === 'PAID'),
    path: (o) => `/orders/${encodeURIComponent(o.id)}/cancel`,
    // Cancelling is asked first (a PAID order is refunded); shipping and delivering only when the order moved on.
    askFirst: true,
    question: (o) =>
      o.status === 'PAID'
        ? `Cancel order ${o.id}? It is paid: cancelling refunds ${money(left(o))} to the customer.`
        : `Cancel order ${o.id}? It is not paid; its stock goes back on sale.`,
    done: (o) => `Order ${o.id} cancelled.`,
  },
};

/**
 * Asks, then sends the action with If-Match. On 412 the row shows the order as it is now; if the action is
 * still possible the admin is asked again with the new state in the question, else told nothing was done.
 */
async function perform(kind, order, body, changed = '') {
  const action = actions[kind];
  if (action.askFirst || changed !== '') {
    const yes = await ask(`${changed}${action.question(order)}`, action.label, 'Back');
    if (!yes) return;
  }
  try {
    const next = await session.call('POST', action.path(order), { body, ifMatch: order.version });
    show(next);
    notify(action.done(next), 'ok');
  } catch (error) {
    const current = error?.status === 412 ? error.problem?.order : undefined;
    if (!current) throw error;
    show(current);
    const moved = `Order ${current.id} changed while you were looking at it: it is now ${describeStatus(current)}.`;
    if (!action.possible(current)) {
      notify(`${moved} Nothing was done.`, 'error');
      return;
    }
    notify(`${moved} Nothing was done yet.`, 'info');
    await perform(kind, current, body, `${moved} `);
  }
}

function actionCell(o) {
  const cell = el('td', { className: 'actions' });
  const button = (kind, body = () => ({}), className = undefined) => {
    const b = el(
      'button',
      { type: 'button', className },
      kind === 'cancel' && o.status === 'PAID' ? 'Cancel & refund' : actions[kind].label,
    );
    b.addEventListener(
      'click',
      busy(b, () => perform(kind, rows.get(o.id)?.order ?? o, body()), notify),
    );
    return b;
  };
  if (actions.ship.possible(o)) {
    const carrier = el('input', {
      placeholder: 'Carrier',
      'aria-label': `Carrier for ${o.id}`,
      maxLength: 100,
      className: 'carrier',
    });
    const tracking = el('input', {
      placeholder: 'Tracking number',
      'aria-label': `Tracking number for ${o.id}`,
      maxLength: 100,
      className: 'tracking',
    });
    cell.append(
      carrier,
      tracking,
      button('ship', () => ({ carrier: carrier.value.trim(), trackingNumber: tracking.value.trim() })),
    );
  }
  if (actions.deliver.possible(o)) cell.append(button('deliver'));
  if (actions.cancel.possible(o)) cell.append(button('cancel', () => ({ reason: 'Cancelled by staff' }), 'danger'));
  if (refundable(o)) {
    const refund = el('button', { type: 'button' }, 'Refund…');
    refund.addEventListener(
      'click',
      busy(
        refund,
        async () => {
          const next = await refundOrder(rows.get(o.id)?.order ?? o);
          if (next) show(next);
        },
        notify,
      ),
    );
    cell.append(refund);
  }
  return cell;
}

function fillRow(row, o) {
  const shipment = o.shipment ? `${o.shipment.carrier} ${o.shipment.trackingNumber}` : '';
  row.dataset.status = o.status;
  row.dataset.version = String(o.version);
  row.replaceChildren(
    el('td', { dataset: { label: 'Order' } }, el('code', {}, o.id)),
    el('td', { dataset: { label: 'Placed' } }, when(o.createdAt)),
    el('td', { dataset: { label: 'Customer' } }, el('code', {}, o.userId)),
    el('td', { className: 'num', dataset: { label: 'Items' } }, String(o.items.reduce((n, i) => n + i.quantity, 0))),
    el(
      'td',
      { className: 'num', dataset: { label: 'Total' } },
      money(o.total),
      o.refunded?.amount ? el('div', { className: 'muted' }, `refunded ${money(o.refunded)}`) : null,
    ),
    el(
      'td',
      { dataset: { label: 'Status' } },
      el('span', { className: `status s-${o.status}` }, o.status),
      shipment ? el('div', { className: 'muted' }, shipment) : null,
    ),
    el('td', { dataset: { label: 'Payment' } }, o.payment ? `${o.payment.provider} ${o.payment.status}` : '—'),
    actionCell(o),
  );
}

/** Shows the order in its row (a newer version only: a late answer never puts an older state back). */
function show(order) {
  const entry = rows.get(order.id);
  if (!entry) return;
  if (order.version < entry.order.version) return;
  entry.order = order;
  fillRow(entry.row, order);
}

function rowFor(order) {
  const row = el('tr', { dataset: { orderId: order.id } });
  rows.set(order.id, { order, row });
  fillRow(row, order);
  return row;
}

async function loadOrders(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const status = $('order-status').value;
  if (status) query.set('status', status);
  if (more && cursor) query.set('cursor', cursor);
  const body = $('orders');
  const mine = ++request;
  body.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await session.call('GET', `/orders?${query}`);
  } finally {
    if (mine === request) body.removeAttribute('aria-busy');
  }
  if (mine !== request) return;
  if (!more) {
    clear(body);
    rows.clear();
  }
  for (const order of page.data) body.append(rowFor(order));
  if (!more && page.data.length === 0)
    body.append(el('tr', { className: 'empty' }, el('td', { colSpan: 8, className: 'muted' }, 'No orders.')));
  cursor = page.nextCursor;
  $('orders-more').hidden = !page.nextCursor;
}

/** A live event: the order is read again and shown in place; a new one matching the filter goes on top. */
async function refresh(orderId) {
  const order = await session.call('GET', `/orders/${encodeURIComponent(orderId)}`);
  const filter = $('order-status').value;
  if (rows.has(orderId)) show(order);
  else if (!filter || filter === order.status) {
    $('orders').querySelector('tr.empty')?.remove();
    $('orders').prepend(rowFor(order));
  } else return;
  $('orders-live').textContent = `Order ${order.id} is now ${describeStatus(order)}.`;
}

onLive('change', (event) => safely(refresh(event.orderId)));
onLive('resync', () => safely(loadOrders()));

$('order-status').addEventListener('change', () => safely(loadOrders()));
$('orders-reload').addEventListener('click', () => safely(loadOrders()));

// One order by its id (the list is replaced by it; Reload brings the list back).
$('order-find').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
  event.preventDefault();
  const id = String(new FormData(/** @type {HTMLFormElement} */ (event.currentTarget)).get('id') ?? '').trim();
  if (!id) return safely(loadOrders());
  safely(
    (async () => {
      const order = await session.call('GET', `/orders/${encodeURIComponent(id)}`);
      request++;
      rows.clear();
      clear($('orders')).append(rowFor(order));
      $('orders-more').hidden = true;
    })(),
  );
});
$('orders-more').addEventListener('click', () => safely(loadOrders(true)));

registerTab('orders', { load: () => loadOrders() });
