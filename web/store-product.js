// @ts-check
// The product page (`#product/<id>`: the address can be shared, Back returns to the list) and the search
// of the catalog by name. The page is read from the API each time it opens, so price and stock are current.
import { ApiError, clear, el, money } from './api.js';
import { addToCart, limitOf, searchProducts } from './store-cart.js';
import { $, notify, session } from './store-shell.js';

/** @typedef {import('./store-cart.js').Product} Product */

const ROUTE = /^#product\/([A-Za-z0-9_-]{1,64})$/;
/** The product whose page was last opened: Back puts focus on its link in the list again. */
let lastOpened = '';

/** @param {Product} product */
function productPage(product) {
  const quantity = el('input', {
    id: 'product-quantity',
    type: 'number',
    min: '1',
    max: String(Math.max(1, limitOf(product))),
    value: '1',
    className: 'qty',
  });
  const add = el('button', { type: 'button', disabled: product.stock <= 0 }, 'Add to cart');
  add.addEventListener('click', () =>
    addToCart(product, Number(/** @type {HTMLInputElement} */ (quantity).value) || 1),
  );
  return [
    el('a', { href: '#', className: 'back' }, '← Back to products'),
    el(
      'div',
      { className: 'product-detail' },
      product.imageUrl
        ? el('img', { src: product.imageUrl, alt: product.name, className: 'product-image', width: 800, height: 600 })
        : el('div', { className: 'product-image' }),
      el(
        'div',
        { className: 'product-body' },
        el('h2', { id: 'product-title', tabIndex: -1 }, product.name),
        el('p', { className: 'price big' }, money(product.price)),
        el('p', { className: 'muted' }, product.stock > 0 ? `${product.stock} in stock` : 'Out of stock'),
        product.description ? el('p', { className: 'product-description' }, product.description) : null,
        el('div', { className: 'actions' }, el('label', { htmlFor: 'product-quantity' }, 'Quantity'), quantity, add),
      ),
    ),
  ];
}

/** @param {string} id */
async function openProduct(id) {
  const page = $('product-page');
  $('catalog').hidden = true;
  page.hidden = false;
  page.setAttribute('aria-busy', 'true');
  clear(page).append(el('p', { className: 'muted' }, 'Loading…'));
  lastOpened = id;
  try {
    /** @type {Product} */
    const product = await session.send('GET', `/products/${encodeURIComponent(id)}`);
    clear(page).append(...productPage(product));
    document.title = `${product.name} — Fulcrum shop`;
  } catch (error) {
    const gone = error instanceof ApiError && error.status === 404;
    clear(page).append(
      el('a', { href: '#', className: 'back' }, '← Back to products'),
      el('h2', { id: 'product-title', tabIndex: -1 }, gone ? 'This product is not available' : 'Something went wrong'),
      el('p', { className: 'muted' }, gone ? 'It may have been taken off the shop.' : error.message),
    );
  } finally {
    page.removeAttribute('aria-busy');
  }
  $('product-title')?.focus();
}

function showCatalog() {
  $('product-page').hidden = true;
  $('catalog').hidden = false;
  document.title = 'Fulcrum shop';
  if (lastOpened) {
    // lastOpened matched ROUTE (letters, digits, "_", "-"): safe in a selector as it is.
    const link = /** @type {HTMLElement | null} */ (
      document.querySelector(`#products a[href="#product/${lastOpened}"]`)
    );
    link?.focus();
    lastOpened = '';
  }
}

/** Shows what the address names: a product page, or the list. */
export function route() {
  const match = ROUTE.exec(location.hash);
  if (match) void openProduct(decodeURIComponent(match[1]));
  else showCatalog();
}

window.addEventListener('hashchange', route);

$('product-search').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = String(new FormData(/** @type {HTMLFormElement} */ (event.currentTarget)).get('q') ?? '');
  void searchProducts(text).catch((error) => notify(error.message, 'error'));
});
$('search-clear').addEventListener('click', () => {
  /** @type {HTMLFormElement} */ ($('product-search')).reset();
  void searchProducts('').catch((error) => notify(error.message, 'error'));
  $('product-search-q').focus();
});
