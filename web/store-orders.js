// @ts-check
// My orders and the return panel after the hosted checkout: both say what orderState says. Refunds and
// tracking are shown; an unpaid order can be paid (again) or cancelled.
import { ApiError, busy, clear, el, keepNewer, money, when } from './api.js';
import { $, notify, orders, orderState, returning, session } from './store-shell.js';
import { openDetail, refreshDetail } from './store-order-detail.js';

/** @typedef {import('./store-shell.js').Order} Order */

/** Set by the checkout module: sends the customer to the payment page of an order. */
let payOrder = /** @type {(orderId: string) => Promise<void>} */ (async () => {});
/** @param {(orderId: string) => Promise<void>} pay */
export function setPayAction(pay) {
  payOrder = pay;
}
/** Set by the entry module: the catalog is read again when an order gives its stock back. */
let afterStockChange = () => {};
/** @param {() => void} fn */
export function setAfterStockChange(fn) {
  afterStockChange = fn;
}

// Only the newest list request is shown: an older answer arriving late would put older states back.
let listRequest = 0;
/**
 * Orders read again (live events) while the newest list request is out, null when none is: that answer may have
 * been read before their change, so they go over it — else a change the page showed live would vanish.
 * @type {Map<string, Order> | null}
 */
let readDuringLoad = null;

export async function loadOrders() {
  if (!session.user()) return;
  const mine = ++listRequest;
  const during = (readDuringLoad = new Map());
  $('orders').setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await session.call('GET', '/orders?limit=50');
  } finally {
    if (mine === listRequest) {
      readDuringLoad = null;
      $('orders').removeAttribute('aria-busy');
    }
  }
  if (mine !== listRequest) return;
  orders.clear();
  for (const order of page.data) orders.set(order.id, order);
  for (const order of during.values()) keepNewer(orders, order);
  renderOrders();
  renderReturn();
  // The list carries no payment; the order the customer came back for is read whole, so that its row and the
  // return panel say what its payment did (declined, processing…), not just "Awaiting payment".
  if (returning && orders.has(returning.orderId)) await refreshOrder(returning.orderId);
}

/** The customer closed the return panel ("Back to the shop"): later reads do not open it again. */
let returnClosed = false;

/** @param {Order} order */
function orderActions(order) {
  const actions = el('td', { className: 'actions', dataset: { label: 'Actions' } });
  const details = el(
    'button',
    { type: 'button', className: 'link details', 'aria-label': `Details of order ${order.id}` },
    'Details',
  );
  details.addEventListener('click', (event) => void busy(details, () => openDetail(order.id), notify)(event));
  actions.append(details);
  if (order.status !== 'CREATED') return actions;
  const pay = el('button', { type: 'button' }, order.payment?.status === 'PENDING' ? 'Continue payment' : 'Pay');
  pay.addEventListener('click', (event) => void busy(pay, () => payOrder(order.id), notify)(event));
  const cancel = el(
    'button',
    { type: 'button', className: 'link', 'aria-label': `Cancel order ${order.id}` },
    'Cancel',
  );
  cancel.addEventListener('click', (event) => void busy(cancel, () => cancelOrder(order.id), notify)(event));
  actions.append(pay, cancel);
  return actions;
}

export function renderOrders() {
  const body = clear($('orders'));
  const list = [...orders.values()].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  $('orders-empty').hidden = list.length > 0;
  for (const order of list) {
    const state = orderState(order);
    const items = order.items.map((i) => `${i.quantity} × ${i.name}`).join(', ');
    const tracking = order.shipment ? `${order.shipment.carrier} ${order.shipment.trackingNumber}` : '';
    body.append(
      el(
        'tr',
        { dataset: { orderId: order.id } },
        el('td', { dataset: { label: 'Order' } }, el('code', {}, order.id)),
        el('td', { dataset: { label: 'Placed' } }, when(order.createdAt)),
        el('td', { dataset: { label: 'Items' } }, items),
        el('td', { className: 'num', dataset: { label: 'Total' } }, money(order.total)),
        el(
          'td',
          { dataset: { label: 'Status' } },
          el('span', { className: `status s-${order.status}` }, state.label),
          tracking ? el('div', { className: 'muted tracking' }, `Tracking: ${tracking}`) : null,
        ),
        orderActions(order),
      ),
    );
  }
}

/** @param {string} orderId */
async function cancelOrder(orderId) {
  const current = orders.get(orderId);
  const order = await session
    .call('POST', `/orders/${encodeURIComponent(orderId)}/cancel`, {
      body: { reason: 'Cancelled by the customer' },
      ...(current ? { ifMatch: current.version } : {}),
    })
    .catch((error) => {
      // The order moved on (paid meanwhile): show it as it is now; nothing was cancelled.
      if (error instanceof ApiError && error.status === 412 && error.problem?.order) {
        const now = error.problem.order;
        orders.set(now.id, now);
        renderOrders();
        renderReturn();
        throw new Error(`Order ${now.id} changed meanwhile: ${orderState(now).label}. Nothing was cancelled.`);
      }
      throw error;
    });
  orders.set(order.id, order);
  renderOrders();
  renderReturn();
  void refreshDetail(order.id);
  notify(`Order ${order.id} is cancelled.`, 'info');
  afterStockChange();
}

export async function showReturn() {
  if (!returning) return;
  $('return').hidden = false;
  $('return-order').textContent = returning.orderId;
  try {
    const order = await session.call('GET', `/orders/${encodeURIComponent(returning.orderId)}`);
    orders.set(order.id, order);
    // Both from the same read: the list showed the order as the earlier list read had it, and said
    // "Awaiting payment" beside a panel saying "Payment declined".
    renderOrders();
    renderReturn();
  } catch (error) {
    $('return-status').textContent = error instanceof ApiError && error.status === 404 ? 'Order not found' : '';
    notify(error instanceof Error ? error.message : String(error), 'error');
  }
}

/** The return panel: the order's state in the same words as the list, its items, refunds and tracking. */
export function renderReturn() {
  const order = returning ? orders.get(returning.orderId) : undefined;
  if (!order) return;
  // Whichever read renders first shows the panel (until the customer closes it).
  $('return').hidden = returnClosed;
  const state = orderState(order);
  const status = $('return-status');
  status.textContent = state.label;
  status.className = `big ${state.kind}`;
  status.dataset.orderStatus = order.status;
  $('return-detail').textContent = state.detail;
  const address = order.shippingAddress;
  // append() writes a null as the text "null": the optional parts are filtered out first.
  const parts = [
    el(
      'ul',
      { className: 'list' },
      order.items.map((i) => el('li', {}, `${i.quantity} × ${i.name} — ${money(i.lineTotal)}`)),
    ),
    el('p', {}, 'Total: ', el('strong', {}, money(order.total))),
    order.refunded?.amount > 0 ? el('p', { className: 'refunded' }, `Refunded: ${money(order.refunded)}`) : null,
    address
      ? el(
          'p',
          { className: 'muted' },
          `Ships to ${address.name}, ${address.line1}, ${address.postalCode} ${address.city}, ${address.country}`,
        )
      : null,
  ];
  clear($('return-items')).append(...parts.filter((part) => part !== null));
  $('return-pay').hidden =
    order.status !== 'CREATED' || (order.payment?.status === 'PENDING' && state.label === 'Payment processing…');
}

/** @param {string} orderId */
export async function refreshOrder(orderId) {
  try {
    const order = await session.call('GET', `/orders/${encodeURIComponent(orderId)}`);
    keepNewer(readDuringLoad, order);
    keepNewer(orders, order);
    renderOrders();
    renderReturn();
    await refreshDetail(orderId);
  } catch {
    // The list stays as it was; the next event or reload brings it up to date.
  }
}

$('return-pay').addEventListener('click', (event) => {
  if (returning)
    void busy(/** @type {HTMLButtonElement} */ (event.currentTarget), () => payOrder(returning.orderId), notify)(event);
});

$('return-close').addEventListener('click', () => {
  returnClosed = true;
  $('return').hidden = true;
  history.replaceState(null, '', '/');
});
