// @ts-check
// The order detail panel of the orders tab: one order in full (order-detail.js) with its actions, live — a staff
// feed event about it reads it again, and an action's answer or a 412's current order is shown at once.
import { el } from './api.js';
import { $, safely, session } from './admin-shell.js';
import { onLive } from './admin-live.js';
import { actionControls, describeStatus, onOrderShown } from './admin-order-actions.js';
import { detailPanel, fillPanel, renderDetail } from './order-detail.js';

const detail = detailPanel(session.call, render);

const actorName = (actor) => actor;

function render() {
  const panel = $('order-detail');
  const shown = detail.current();
  fillPanel(panel, shown?.order ?? null, closeDetail, () => {
    const { order } = /** @type {import('./order-detail.js').Detail} */ (shown);
    return {
      head: [el('span', { className: `status s-${order.status}` }, order.status)],
      body: [
        ...renderDetail(/** @type {import('./order-detail.js').Detail} */ (shown), {
          statusText: describeStatus(order),
          actorName,
        }),
        el(
          'div',
          { className: 'actions detail-actions', role: 'group', 'aria-label': `Actions for ${order.id}` },
          actionControls(order, () => detail.current()?.order),
        ),
      ],
    };
  });
  if (shown) panel.dataset.version = String(shown.order.version);
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
