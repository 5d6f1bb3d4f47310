// @ts-check
// The order detail panel of the orders tab: one order in full (order-detail.js) with its actions, live — a staff
// feed event about it reads it again, and an action's answer or a 412's current order is shown at once.
import { el } from './api.js';
import { $, safely, session } from './admin-shell.js';
import { onLive } from './admin-live.js';
import { actionControls, describeStatus, onOrderShown } from './admin-order-actions.js';
import { loadDetail, renderDetail } from './order-detail.js';

/** The order shown, as last read, with its payments and events; null when the panel is closed. */
let shown = null;
// Only the newest read renders: a slower earlier one never puts an older state back.
let reads = 0;

const actorName = (actor) => actor;

function render() {
  const panel = $('order-detail');
  if (!shown) {
    panel.hidden = true;
    panel.replaceChildren();
    return;
  }
  const { order } = shown;
  const close = el('button', { type: 'button', className: 'link' }, 'Close');
  close.addEventListener('click', closeDetail);
  panel.dataset.orderId = order.id;
  panel.dataset.version = String(order.version);
  panel.hidden = false;
  panel.replaceChildren(
    el(
      'div',
      { className: 'inline detail-head' },
      el('h2', { id: 'order-detail-title', tabIndex: -1 }, 'Order ', el('code', {}, order.id)),
      el('span', { className: `status s-${order.status}` }, order.status),
      close,
    ),
    ...renderDetail(shown, { statusText: describeStatus(order), actorName }),
    el(
      'div',
      { className: 'actions detail-actions', role: 'group', 'aria-label': `Actions for ${order.id}` },
      actionControls(order, () => shown?.order),
    ),
  );
}

/** Reads the order, its payments and its timeline again and shows them (if the panel still shows that order). */
async function reload(orderId) {
  const mine = ++reads;
  const detail = await loadDetail(session.call, orderId);
  if (mine !== reads || (shown && shown.orderId !== orderId)) return;
  // Nothing changed (an event about something already shown): keep the panel, and what is typed or focused in it.
  if (shown && JSON.stringify(detail) === JSON.stringify(shown)) return;
  shown = detail;
  render();
}

/** Opens the panel on an order, above the list, and moves focus to its heading. */
export async function openDetail(orderId) {
  shown = null;
  await reload(orderId);
  $('order-detail').scrollIntoView({ block: 'start' });
  $('order-detail-title')?.focus();
}

export function closeDetail() {
  reads++;
  shown = null;
  render();
}

// An action or a 412 brought a newer order: show it now, then read payments and timeline again.
onOrderShown((order) => {
  if (!shown || shown.orderId !== order.id || order.version < shown.order.version) return;
  shown = { ...shown, order };
  render();
  safely(reload(order.id));
});

// The staff feed: the shown order changed (paid, shipped by another admin, refunded…).
onLive('change', (event) => {
  if (shown && shown.orderId === event.orderId) safely(reload(event.orderId));
});
onLive('resync', () => {
  if (shown) safely(reload(shown.orderId));
});
