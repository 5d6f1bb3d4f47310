// @ts-check
// Refunds from the orders list: full or partial, typed in the currency's units (12.50), with a reason, on PAID,
// SHIPPED and DELIVERED orders; the order keeps its status and shows what was refunded. Sent with If-Match.
import { ApiError, money } from './api.js';
import { $, isAdmin, notify, session } from './admin-shell.js';

/** @typedef {{ amount: number, currency: string }} Money */

/** Decimals of a currency (2 for usd, 0 for jpy), as the page formats it. @param {string} currency */
export function decimalsOf(currency) {
  try {
    return (
      new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

/** "12.50" → 1250 (usd); null when it is not an amount in that currency's units. @param {string} text @param {string} currency */
export function toMinorUnits(text, currency) {
  const digits = decimalsOf(currency);
  const match = /^(\d{1,9})(?:[.,](\d+))?$/.exec(text.trim());
  if (!match || (match[2] ?? '').length > digits) return null;
  return Number(match[1]) * 10 ** digits + Number((match[2] ?? '').padEnd(digits, '0') || '0');
}

/** @param {{ status: string, total: Money, refunded: Money, payment: { status: string } | null }} o */
export const refundable = (o) =>
  isAdmin() &&
  ['PAID', 'SHIPPED', 'DELIVERED'].includes(o.status) &&
  ['SUCCEEDED', 'PARTIALLY_REFUNDED'].includes(o.payment?.status ?? '') &&
  o.total.amount > (o.refunded?.amount ?? 0);

/**
 * Opens the refund dialog for an order; resolves with the order as it is afterwards (null when dismissed).
 * @param {any} order
 */
export function refundOrder(order) {
  const dialog = /** @type {HTMLDialogElement} */ ($('refund'));
  const form = /** @type {HTMLFormElement} */ ($('refund-form'));
  const left = { amount: order.total.amount - (order.refunded?.amount ?? 0), currency: order.total.currency };
  $('refund-title').textContent = `Refund order ${order.id}`;
  $('refund-left').textContent = `Up to ${money(left)} can be refunded. The order stays ${order.status}.`;
  const amount = /** @type {HTMLInputElement} */ (form.elements.namedItem('amount'));
  amount.value = (left.amount / 10 ** decimalsOf(left.currency)).toFixed(decimalsOf(left.currency));
  /** @type {HTMLInputElement} */ (form.elements.namedItem('reason')).value = '';
  $('refund-error').textContent = '';
  const key = crypto.randomUUID();
  return new Promise((resolve) => {
    const submit = async (/** @type {SubmitEvent} */ event) => {
      event.preventDefault();
      const data = new FormData(form);
      const minor = toMinorUnits(String(data.get('amount') ?? ''), left.currency);
      if (minor === null || minor <= 0) {
        $('refund-error').textContent = `Type an amount such as ${(1250 / 100).toFixed(2)}, at most ${money(left)}.`;
        return;
      }
      try {
        const { refund } = await session.call(
          'POST',
          `/admin/payments/${encodeURIComponent(order.payment.id)}/refunds`,
          {
            body: { amount: minor, reason: String(data.get('reason') ?? '').trim() || 'Refund from the dashboard' },
            idempotencyKey: key,
            ifMatch: order.version,
          },
        );
        done(await session.call('GET', `/orders/${encodeURIComponent(order.id)}`));
        notify(
          `Refund of ${money(refund.amount)} for order ${order.id}: ${refund.status}.`,
          refund.status === 'FAILED' ? 'error' : 'ok',
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 412 && error.problem?.order) {
          done(error.problem.order);
          notify(
            `Order ${order.id} changed while you were looking at it: nothing was refunded. Check it and refund again.`,
            'error',
          );
        } else $('refund-error').textContent = error instanceof Error ? error.message : String(error);
      }
    };
    const done = (/** @type {any} */ result) => {
      form.removeEventListener('submit', submit);
      dialog.close();
      resolve(result);
    };
    form.addEventListener('submit', submit);
    $('refund-cancel').onclick = () => done(null);
    dialog.showModal();
    amount.focus();
  });
}
