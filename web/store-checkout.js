// @ts-check
// Placing an order: the cart and the shipping address go together, and "Place order and pay" leads straight on
// to the hosted payment page. A short-stock refusal names the products and what is left.
import { ApiError, busy, money } from './api.js';
import { cart, clearCart, loadProducts, onCartChange, productName } from './store-cart.js';
import { renderOrders, setPayAction } from './store-orders.js';
import { $, notify, orders, session } from './store-shell.js';

/** The key for the order being placed: reused if the same attempt is retried after a network failure. */
let pendingOrderKey = /** @type {string | null} */ (null);
onCartChange(() => {
  pendingOrderKey = null;
});

/** Sends the customer to the hosted checkout of an order (the payment already under way, if there is one). */
/** @param {string} orderId */
export async function startCheckout(orderId) {
  let payment;
  try {
    ({ payment } = await session.call('POST', `/orders/${encodeURIComponent(orderId)}/checkout`, {
      body: { provider: 'stripe' },
      idempotencyKey: crypto.randomUUID(),
    }));
  } catch (error) {
    const pending = error instanceof ApiError ? error.problem?.payment : null;
    if (error instanceof ApiError && error.code === 'payment_already_pending' && pending?.checkoutUrl)
      payment = pending;
    else throw error;
  }
  if (!payment?.checkoutUrl) throw new Error('The payment page is not available for this order.');
  notify('Taking you to the payment page…', 'info');
  location.href = payment.checkoutUrl;
}
setPayAction(startCheckout);

/** @param {HTMLFormElement} form */
function addressOf(form) {
  const data = new FormData(form);
  /** @param {string} name */
  const text = (name) => String(data.get(name) ?? '').trim();
  const line2 = text('line2');
  return {
    name: text('name'),
    line1: text('line1'),
    ...(line2 ? { line2 } : {}),
    city: text('city'),
    postalCode: text('postalCode'),
    country: text('country').toUpperCase(),
  };
}

/** `409 insufficient_stock` names the products: say which, and how many are left. */
/** @param {unknown} error */
async function explainShortStock(error) {
  if (!(error instanceof ApiError) || error.code !== 'insufficient_stock') return error;
  await loadProducts().catch(() => undefined);
  const ids = Array.isArray(error.problem?.productIds) ? error.problem.productIds : [];
  const names = ids.map((id) => {
    const line = cart.get(id);
    return line ? `${productName(id)} (${line.product.stock} left)` : productName(id);
  });
  return new Error(
    `Not enough stock for ${names.join(', ') || 'some products'}. Your cart was updated; check it and order again.`,
  );
}

$('checkout-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const button = /** @type {HTMLButtonElement} */ ($('place-order'));
  void busy(
    button,
    async () => {
      const items = [...cart].map(([productId, { quantity }]) => ({ productId, quantity }));
      pendingOrderKey ??= crypto.randomUUID();
      let order;
      try {
        order = await session.call('POST', '/orders', {
          body: { items, shippingAddress: addressOf(form) },
          idempotencyKey: pendingOrderKey,
        });
      } catch (error) {
        // A definite answer ends this attempt; a lost connection keeps the key so a retry cannot order twice.
        if (error instanceof ApiError && error.status !== 0) pendingOrderKey = null;
        throw await explainShortStock(error);
      }
      clearCart();
      orders.set(order.id, order);
      renderOrders();
      notify(`Order ${order.id} placed: ${money(order.total)}. Taking you to the payment page…`, 'ok');
      try {
        await startCheckout(order.id);
      } catch (error) {
        throw new Error(
          `Order ${order.id} is placed but the payment page could not be opened (${error instanceof Error ? error.message : error}). Pay for it in "My orders".`,
          { cause: error },
        );
      }
    },
    notify,
  )(event);
});
