// @ts-check
// Products and the cart. The cart never holds more of a product than is in stock (stock as the catalog last
// said); a short-stock answer from the API names the products and what is left.
import { clear, el, money } from './api.js';
import { $, notify, session } from './store-shell.js';

const CART_KEY = 'fulcrum.cart';

/** @typedef {{ id: string, name: string, description?: string | null, price: import('./store-shell.js').Money, stock: number, imageUrl?: string | null }} Product */

/** productId → { product, quantity } (kept in sessionStorage so it survives the trip to the payment page). */
export const cart = loadCart();
/** @type {Product[]} */
let products = [];
/** @type {string | null} */
let productCursor = null;
/** The name search the list shows ('' for the whole catalog): the API searches (`q`). */
let productQuery = '';
/** Called when the cart changes (the checkout resets its idempotency key). */
const cartListeners = /** @type {Set<() => void>} */ (new Set());

/** @returns {Map<string, { product: Product, quantity: number }>} */
function loadCart() {
  try {
    const raw = JSON.parse(sessionStorage.getItem(CART_KEY) || '{}');
    return new Map(Object.entries(raw).filter(([, line]) => line && line.product && line.quantity > 0));
  } catch {
    return new Map();
  }
}

/** @param {() => void} listener */
export function onCartChange(listener) {
  cartListeners.add(listener);
}

function saveCart() {
  sessionStorage.setItem(CART_KEY, JSON.stringify(Object.fromEntries(cart)));
  for (const listener of cartListeners) listener();
}

/** @param {string} productId */
export const productName = (productId) =>
  products.find((p) => p.id === productId)?.name ?? cart.get(productId)?.product.name ?? productId;

/** Shows the products whose name contains `text` ('' shows them all). @param {string} text */
export function searchProducts(text) {
  productQuery = text.trim();
  return loadProducts();
}

export async function loadProducts(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  if (productQuery) query.set('q', productQuery);
  if (more && productCursor) query.set('cursor', productCursor);
  const page = await session.call('GET', `/products?${query}`);
  products = more ? products.concat(page.data) : page.data;
  productCursor = page.nextCursor;
  // Prices and stock in the cart follow the catalog; a line over the stock shrinks to it.
  for (const product of products) {
    const line = cart.get(product.id);
    if (!line) continue;
    line.product = product;
    if (line.quantity > product.stock) {
      if (product.stock > 0) line.quantity = product.stock;
      else cart.delete(product.id);
      notify(`Only ${product.stock} of ${product.name} left: your cart was changed.`, 'info');
    }
  }
  saveCart();
  renderProducts();
  renderCart();
}

function renderProducts() {
  const list = clear($('products'));
  const none = productQuery ? `No products match “${productQuery}”.` : 'No products yet.';
  if (products.length === 0) list.append(el('li', { className: 'muted' }, none));
  $('search-clear').hidden = !productQuery;
  // Said once, politely, instead of reading out the whole list again.
  const count = `${products.length}${productCursor ? '+' : ''} product${products.length === 1 ? '' : 's'}`;
  $('search-status').textContent = productQuery ? `${count} found for “${productQuery}”.` : '';
  for (const product of products) {
    const quantity = el('input', {
      type: 'number',
      min: '1',
      max: String(Math.max(1, Math.min(100, product.stock))),
      value: '1',
      className: 'qty',
      'aria-label': `Quantity of ${product.name}`,
    });
    const add = el('button', { type: 'button', disabled: product.stock <= 0 }, 'Add to cart');
    add.addEventListener('click', () => addToCart(product, Number(quantity.value) || 1));
    list.append(
      el(
        'li',
        { className: 'product', dataset: { productId: product.id } },
        product.imageUrl
          ? el('img', { src: product.imageUrl, alt: '', className: 'product-image', width: 400, height: 300 })
          : el('div', { className: 'product-image' }),
        el(
          'div',
          { className: 'product-body' },
          el(
            'strong',
            { className: 'product-name' },
            el('a', { href: `#product/${encodeURIComponent(product.id)}` }, product.name),
          ),
          product.description ? el('p', { className: 'muted product-text' }, product.description) : null,
          el(
            'div',
            { className: 'product-meta' },
            el('span', { className: 'price' }, money(product.price)),
            el('span', { className: 'muted' }, product.stock > 0 ? `${product.stock} in stock` : 'Out of stock'),
          ),
          el('div', { className: 'actions' }, quantity, add),
        ),
      ),
    );
  }
  $('more-products').hidden = !productCursor;
}

/** @param {Product} product */
export const limitOf = (product) => Math.max(0, Math.min(100, product.stock));

/** @param {Product} product @param {number} quantity */
export function addToCart(product, quantity) {
  const line = cart.get(product.id);
  const wanted = (line?.quantity ?? 0) + Math.max(1, Math.floor(quantity));
  const next = Math.min(limitOf(product), wanted);
  if (next <= 0) return notify(`${product.name} is out of stock.`, 'error');
  cart.set(product.id, { product, quantity: next });
  saveCart();
  renderCart();
  if (next < wanted) notify(`Only ${product.stock} of ${product.name} in stock: your cart has ${next}.`, 'info');
  else notify(`${product.name} is in your cart.`, 'ok');
}

/** @param {string} productId @param {number} quantity */
function setQuantity(productId, quantity) {
  const line = cart.get(productId);
  if (!line) return;
  if (!(quantity > 0)) cart.delete(productId);
  else {
    line.quantity = Math.min(limitOf(line.product), Math.floor(quantity));
    if (line.quantity < quantity) notify(`Only ${line.product.stock} of ${line.product.name} in stock.`, 'info');
  }
  saveCart();
  renderCart();
}

export function clearCart() {
  cart.clear();
  saveCart();
  renderCart();
}

function cartTotal() {
  let amount = 0;
  let currency = null;
  for (const { product, quantity } of cart.values()) {
    if (currency !== null && product.price.currency !== currency) return null;
    currency = product.price.currency;
    amount += product.price.amount * quantity;
  }
  return currency === null ? null : { amount, currency };
}

export function renderCart() {
  const table = clear($('cart'));
  for (const [productId, { product, quantity }] of cart) {
    const input = /** @type {HTMLInputElement} */ (
      el('input', {
        type: 'number',
        min: '0',
        max: String(limitOf(product)),
        value: String(quantity),
        className: 'qty',
        'aria-label': `Quantity of ${product.name} in the cart`,
      })
    );
    input.addEventListener('change', () => setQuantity(productId, Number(input.value)));
    const remove = el(
      'button',
      { type: 'button', className: 'link', 'aria-label': `Remove ${product.name}` },
      'Remove',
    );
    remove.addEventListener('click', () => setQuantity(productId, 0));
    const lineTotal = { amount: product.price.amount * quantity, currency: product.price.currency };
    table.append(
      el(
        'tr',
        {},
        el('td', {}, product.name),
        el('td', {}, input),
        el('td', { className: 'num' }, money(lineTotal)),
        el('td', {}, remove),
      ),
    );
  }
  const total = cartTotal();
  $('cart-empty').hidden = cart.size > 0;
  $('cart-total').textContent = cart.size === 0 ? money({ amount: 0, currency: 'usd' }) : total ? money(total) : '—';
  const user = session.user();
  const button = /** @type {HTMLButtonElement} */ ($('place-order'));
  button.disabled = cart.size === 0 || !user;
  button.textContent = user ? 'Place order and pay' : 'Log in to order';
  $('address').hidden = !user || cart.size === 0;
}

$('more-products').addEventListener('click', () => void loadProducts(true).catch((e) => notify(e.message, 'error')));
