// @ts-check
// The order detail panel of the orders tab: one order in full (order-detail.js) with its actions, live — a staff
// feed event about it reads it again, and an action's answer or a 412's current order is shown at once.
import { el } from './api.js';
import { $, safely, session } from './admin-shell.js';
import { onLive } from './admin-live.js';
import { actionControls, describeStatus, onOrderShown } from './admin-order-actions.js';
import { detailPanel, renderDetail } from './order-detail.js';

const detail = detailPanel(session.call, render);

const actorName = (actor) => actor;

function render() {
  const panel = $('order-detail');
  const shown = detail.current();
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
      actionControls(order, () => detail.current()?.order),
    ),
  );
}

const reload = detail.reload;

/** Opens the panel on an order, above the list, and moves focus to its heading. @param {string} orderId */
export const openDetail = (orderId) => detail.open(orderId);

export function closeDetail() {
  detail.close();
}

// An action or a 412 brought a newer order: show it now, then read payments and timeline again.
onOrderShown((order) => {
  const shown = detail.current();
  if (!shown || shown.orderId !== order.id || order.version < shown.order.version) return;
  detail.show({ ...shown, order });
  safely(reload(order.id));
});

// The staff feed: the shown order changed (paid, shipped by another admin, refunded…).
onLive('change', (event) => {
  if (detail.current()?.orderId === event.orderId) safely(reload(event.orderId));
});
onLive('resync', () => {
  const shown = detail.current();
  if (shown) safely(reload(shown.orderId));
});
