// @ts-check
// The storefront's shared state and the one place an order's state becomes words: the order list and the
// return panel both say what `orderState` says, so they can never disagree.
import { createSession, money, notifier } from './api.js';

export const session = createSession('fulcrum.shop');
/** @param {string} id @returns {any} an element of index.html (its ids are fixed) */
export const $ = (id) => document.getElementById(id);
export const notify = notifier($('notice'));
export const PAID_STATES = new Set(['PAID', 'SHIPPED', 'DELIVERED']);

/** @typedef {{ amount: number, currency: string }} Money */
/** @typedef {{ id: string, status: string, checkoutUrl: string | null, failureReason: string | null }} Payment */
/**
 * @typedef {{ id: string, status: string, version: number, total: Money, refunded: Money, createdAt: string,
 *   items: { name: string, quantity: number, lineTotal: Money }[], payment: Payment | null,
 *   shipment: { carrier: string, trackingNumber: string, deliveredAt: string | null } | null,
 *   shippingAddress: Record<string, string> | null, cancellationReason: string | null, expiresAt: string }} Order
 */

/** orderId → order, as last known. */
export const orders = /** @type {Map<string, Order>} */ (new Map());

const params = new URLSearchParams(location.search);
/** Back from the hosted checkout: `?order=…&checkout=success|cancel`. */
export const returning = params.get('order')
  ? { orderId: String(params.get('order')), outcome: params.get('checkout') || '' }
  : null;

/**
 * What the customer is told about an order, from its real state. The return URL's outcome is only a hint for
 * the one thing the state cannot say: a PENDING payment after "success" is being confirmed, after "cancel" it
 * was left. Kinds: ok, wait, bad.
 * @param {Order} order
 * @returns {{ label: string, detail: string, kind: 'ok' | 'wait' | 'bad' }}
 */
export function orderState(order) {
  const hint = returning?.orderId === order.id ? returning.outcome : '';
  const refunded = order.refunded?.amount > 0 ? order.refunded : null;
  const fully = refunded !== null && refunded.amount >= order.total.amount;
  const refundNote = refunded
    ? fully
      ? ` — refunded in full (${money(refunded)})`
      : ` — ${money(refunded)} refunded`
    : '';
  const tracking = order.shipment ? `${order.shipment.carrier} ${order.shipment.trackingNumber}` : '';
  const payment = order.payment;
  switch (order.status) {
    case 'PAID':
      return {
        label: `Payment received — order PAID${refundNote}`,
        detail: 'Payment received. We will let you know when it ships.',
        kind: 'ok',
      };
    case 'SHIPPED':
      return { label: `Shipped${refundNote}`, detail: `On its way: ${tracking}.`, kind: 'ok' };
    case 'DELIVERED':
      return { label: `Delivered${refundNote}`, detail: `Delivered (${tracking}).`, kind: 'ok' };
    case 'CANCELLED':
      if (order.cancellationReason === 'expired')
        return {
          label: 'Expired — not paid',
          detail: 'The order was not paid in time; nothing was charged.',
          kind: 'bad',
        };
      return {
        label: `Cancelled${refundNote}`,
        detail: refunded
          ? 'The order was cancelled and the money refunded.'
          : 'The order was cancelled; nothing was charged.',
        kind: 'bad',
      };
  }
  if (!payment) return { label: 'Awaiting payment', detail: 'The order is not paid yet.', kind: 'wait' };
  if (payment.status === 'FAILED' || payment.status === 'EXPIRED' || payment.status === 'CANCELED')
    return {
      label: 'Payment not completed — not paid',
      detail: 'The payment did not go through. You can pay again.',
      kind: 'bad',
    };
  if (payment.failureReason)
    return {
      label: 'Payment declined — not paid',
      detail: `The card was declined (${payment.failureReason}). You can try again with another card.`,
      kind: 'bad',
    };
  if (hint === 'success')
    return {
      label: 'Payment processing…',
      detail: 'Waiting for the payment provider to confirm. This page updates by itself.',
      kind: 'wait',
    };
  return {
    label: 'Awaiting payment — not paid yet',
    detail: 'The payment was started but not completed. Continue paying below.',
    kind: 'wait',
  };
}
