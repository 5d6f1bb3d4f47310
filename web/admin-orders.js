// @ts-check
// The orders tab: the list (customer e-mail, item count), searched by order id or e-mail, filtered by status and
// by the day placed (from, to), paged with the cursor, live over the staff feed. Each order's id opens its detail
// (admin-order-detail.js); the actions are admin-order-actions.js, shared with the detail.
import { clear, el, keepNewer, money, when } from './api.js';
import { $, notify, registerTab, safely, session } from './admin-shell.js';
import { onLive } from './admin-live.js';
import { actionControls, describeStatus, onOrderShown } from './admin-order-actions.js';
import { openDetail } from './admin-order-detail.js';

const rows = new Map(); // orderId -> { order, row }
let cursor = null;
// Only the newest list request renders: an older answer arriving late would replace rows with stale ones.
let request = 0;
/**
 * Orders read by live events while the newest whole-list request is out (null when none is): that answer may have
 * been read before their change, so they are shown again over it — else a change seen live would vanish.
 */
let liveDuringLoad = null;
/** The search the list shows: status, e-mail, range of creation times (ISO), or one order by its id. */
let filter = { status: '', email: '', createdFrom: '', createdTo: '', id: '' };

function fillRow(row, o) {
  const shipment = o.shipment ? `${o.shipment.carrier} ${o.shipment.trackingNumber}` : '';
  row.dataset.status = o.status;
  row.dataset.version = String(o.version);
  const open = el('button', { type: 'button', className: 'link order-id' }, o.id);
  open.addEventListener('click', () => safely(openDetail(o.id)));
  row.replaceChildren(
    el('td', { dataset: { label: 'Order' } }, open),
    el('td', { dataset: { label: 'Placed' } }, when(o.createdAt)),
    el(
      'td',
      { dataset: { label: 'Customer' }, className: 'customer' },
      o.customer ? o.customer.email : el('code', {}, o.userId),
      o.customer?.name ? el('div', { className: 'muted' }, o.customer.name) : null,
    ),
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
    el(
      'td',
      { className: 'actions' },
      actionControls(o, () => rows.get(o.id)?.order),
    ),
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
onOrderShown(show);

function rowFor(order) {
  const row = el('tr', { dataset: { orderId: order.id } });
  rows.set(order.id, { order, row });
  fillRow(row, order);
  return row;
}

function empty(text) {
  return el('tr', { className: 'empty' }, el('td', { colSpan: 8, className: 'muted' }, text));
}

/** One order by its id: the list is replaced by it (a 404 says so). */
async function loadOne(id) {
  const mine = ++request;
  liveDuringLoad = new Map();
  const order = await session.call('GET', `/orders/${encodeURIComponent(id)}`).catch((error) => {
    if (error?.status === 404) return null;
    if (mine === request) liveDuringLoad = null;
    throw error;
  });
  if (mine !== request) return;
  rows.clear();
  clear($('orders')).append(order ? rowFor(order) : empty(`No order ${id}.`));
  $('orders-more').hidden = true;
  showLiveDuringLoad();
}

async function loadOrders(more = false) {
  if (filter.id) return loadOne(filter.id);
  const query = new URLSearchParams({ limit: '50' });
  for (const name of ['status', 'email', 'createdFrom', 'createdTo']) if (filter[name]) query.set(name, filter[name]);
  if (more && cursor) query.set('cursor', cursor);
  const body = $('orders');
  const mine = ++request;
  // A newer request drops the answer of any list request out; only a whole-list one needs the live orders kept.
  liveDuringLoad = more ? null : new Map();
  body.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await session.call('GET', `/orders?${query}`);
  } catch (error) {
    if (mine === request) liveDuringLoad = null;
    throw error;
  } finally {
    if (mine === request) body.removeAttribute('aria-busy');
  }
  if (mine !== request) return;
  if (!more) {
    clear(body);
    rows.clear();
  }
  for (const order of page.data) body.append(rowFor(order));
  if (!more && page.data.length === 0) body.append(empty('No orders.'));
  cursor = page.nextCursor;
  $('orders-more').hidden = !page.nextCursor;
  if (!more) showLiveDuringLoad();
}

/** After a whole-list answer: what live events read meanwhile goes over it (a newer version only, see show). */
function showLiveDuringLoad() {
  const live = liveDuringLoad ?? new Map();
  liveDuringLoad = null;
  for (const order of live.values()) place(order);
}

/** Whether a new order belongs in the list as filtered. */
function matches(order) {
  if (filter.id) return false;
  if (filter.status && filter.status !== order.status) return false;
  if (filter.email && filter.email !== order.customer?.email) return false;
  if (filter.createdFrom && order.createdAt < filter.createdFrom) return false;
  return !(filter.createdTo && order.createdAt >= filter.createdTo);
}

/** A live event: the order is read again and shown in place; a new one matching the filter goes on top. */
async function refresh(orderId) {
  const order = await session.call('GET', `/orders/${encodeURIComponent(orderId)}`);
  keepNewer(liveDuringLoad, order);
  if (place(order)) $('orders-live').textContent = `Order ${order.id} is now ${describeStatus(order)}.`;
}

/** Shows the order in its row, or on top when it is new to the list and matches the filter; false when neither. */
function place(order) {
  if (rows.has(order.id)) show(order);
  else if (matches(order)) {
    $('orders').querySelector('tr.empty')?.remove();
    $('orders').prepend(rowFor(order));
  } else return false;
  return true;
}

onLive('change', (event) => safely(refresh(event.orderId)));
onLive('resync', () => safely(loadOrders()));

/** A day typed in the form (local time) as the instant it starts; `next` gives the start of the day after. */
function dayStart(value, next = false) {
  if (!value) return '';
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + (next ? 1 : 0)).toISOString();
}

/** Reads the search form: an order id (ord_…) finds that order; anything else with @ is a customer's e-mail. */
function readFilter() {
  const form = /** @type {HTMLFormElement} */ ($('order-find'));
  const data = new FormData(form);
  const q = String(data.get('q') ?? '').trim();
  const from = String(data.get('from') ?? '');
  const to = String(data.get('to') ?? '');
  if (q && !q.startsWith('ord_') && !q.includes('@'))
    throw new Error('Type an order id (ord_…) or a customer’s e-mail address.');
  if (from && to && from > to) throw new Error('The “From” day is after the “To” day.');
  return {
    status: $('order-status').value,
    id: q.startsWith('ord_') ? q : '',
    email: q.includes('@') ? q.toLowerCase() : '',
    createdFrom: dayStart(from),
    createdTo: dayStart(to, true),
  };
}

function search() {
  try {
    filter = readFilter();
  } catch (error) {
    notify(error.message, 'error');
    return;
  }
  notify('');
  safely(loadOrders());
}

$('order-status').addEventListener('change', search);
$('orders-reload').addEventListener('click', search);
$('order-find').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
  event.preventDefault();
  search();
});
$('orders-more').addEventListener('click', () => safely(loadOrders(true)));

registerTab('orders', { load: () => loadOrders() });
