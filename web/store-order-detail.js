// @ts-check
// The customer's order detail, opened from "My orders": items, address, payments and refunds, tracking, until
// when an unpaid order is held, and the timeline — in the storefront's words (orderState). Live: the order's
// events (store-live.js → refreshOrder) read it again while it is open.
import { $, orderState, session } from './store-shell.js';
import { detailPanel, fillPanel, renderDetail } from './order-detail.js';

const detail = detailPanel(session.call, render);

/** Who did a step, for the customer: they, the shop's staff, or the shop by itself. */
function actorName(actor) {
  if (actor === detail.current()?.order.userId) return 'you';
  return actor.startsWith('system:') ? 'automatically' : 'the shop';
}

/**
 * What the customer is shown of a step's reason: why an order was cancelled. Other reasons are the staff's
 * bookkeeping (payment and account ids); a refund's own reason is beside it under "Payments and refunds".
 * @param {import('./order-detail.js').OrderEvent} event
 */
function reasonText(event) {
  if (event.type !== 'order.cancelled' || !event.reason) return null;
  return event.reason === 'expired' ? 'Not paid in time' : event.reason;
}

function render() {
  const shown = detail.current();
  fillPanel($('order-detail'), shown?.order ?? null, closeDetail, () => ({
    body: renderDetail(/** @type {import('./order-detail.js').Detail} */ (shown), {
      statusText: orderState(shown?.order).label,
      actorName,
      reasonText,
    }),
  }));
}

/** Opens the detail of one of the customer's orders and moves focus to it. @param {string} orderId */
export const openDetail = (orderId) => detail.open(orderId);

export function closeDetail() {
  const id = detail.close();
  if (id)
    /** @type {HTMLElement | null} */ (document.querySelector(`#orders tr[data-order-id="${id}"] .details`))?.focus();
}

// Logged out: nothing of the order stays on the page.
session.onChange((value) => {
  if (value === null) closeDetail();
});

/** The order changed (a live event): read the detail again if it is the one open. @param {string} orderId */
export async function refreshDetail(orderId) {
  if (detail.current()?.orderId === orderId) await detail.reload(orderId).catch(() => undefined);
}
