// @ts-check
// The order actions — ship, deliver, cancel, refund — shared by the orders list and the order detail, each sent
// with If-Match (the version the page shows). When the order moved on meanwhile the API answers 412 with the
// order as it is now: every view of it shows that, and the admin is asked again (or told the action is gone).
import { busy, el, money } from './api.js';
import { ask, isAdmin, notify, session } from './admin-shell.js';
import { refundable, refundOrder } from './admin-refund.js';

/** Views of orders (the list's rows, the detail) that show an order whenever an action or a 412 brings it. */
const views = new Set();
/** @param {(order: any) => void} listener */
export const onOrderShown = (listener) => void views.add(listener);
/** @param {any} order */
export const showEverywhere = (order) => {
  for (const view of views) view(order);
};

export const describeStatus = (o) => `${o.status}${o.payment ? `, payment ${o.payment.status}` : ''}`;
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
 * Asks, then sends the action with If-Match. On 412 the order is shown as it is now; if the action is still
 * possible the admin is asked again with the new state in the question, else told nothing was done.
 */
async function perform(kind, order, body, changed = '') {
  const action = actions[kind];
  if (action.askFirst || changed !== '') {
    const yes = await ask(`${changed}${action.question(order)}`, action.label, 'Back');
    if (!yes) return;
  }
  try {
    const next = await session.call('POST', action.path(order), { body, ifMatch: order.version });
    showEverywhere(next);
    notify(action.done(next), 'ok');
  } catch (error) {
    const current = error?.status === 412 ? error.problem?.order : undefined;
    if (!current) throw error;
    showEverywhere(current);
    const moved = `Order ${current.id} changed while you were looking at it: it is now ${describeStatus(current)}.`;
    if (!action.possible(current)) {
      notify(`${moved} Nothing was done.`, 'error');
      return;
    }
    notify(`${moved} Nothing was done yet.`, 'info');
    await perform(kind, current, body, `${moved} `);
  }
}

/**
 * The controls for what may be done to the order now. `latest()` is the order as the view shows it when a button
 * is pressed (live updates may have replaced `o` since the controls were made).
 * @param {any} o @param {() => any} latest
 */
export function actionControls(o, latest) {
  const controls = [];
  const button = (kind, body = () => ({}), className = undefined) => {
    const b = el(
      'button',
      { type: 'button', className },
      kind === 'cancel' && o.status === 'PAID' ? 'Cancel & refund' : actions[kind].label,
    );
    b.addEventListener(
      'click',
      busy(b, () => perform(kind, latest() ?? o, body()), notify),
    );
    return b;
  };
  if (actions.ship.possible(o)) {
    const input = (placeholder, className) =>
      el('input', { placeholder, 'aria-label': `${placeholder} for ${o.id}`, maxLength: 100, className });
    const carrier = input('Carrier', 'carrier');
    const tracking = input('Tracking number', 'tracking');
    controls.push(
      carrier,
      tracking,
      button('ship', () => ({ carrier: carrier.value.trim(), trackingNumber: tracking.value.trim() })),
    );
  }
  if (actions.deliver.possible(o)) controls.push(button('deliver'));
  if (actions.cancel.possible(o)) controls.push(button('cancel', () => ({ reason: 'Cancelled by staff' }), 'danger'));
  if (refundable(o)) {
    const refund = el('button', { type: 'button' }, 'Refund…');
    refund.addEventListener(
      'click',
      busy(
        refund,
        async () => {
          const next = await refundOrder(latest() ?? o);
          if (next) showEverywhere(next);
        },
        notify,
      ),
    );
    controls.push(refund);
  }
  return controls;
}
