// @ts-check
// The products tab: the list (searchable by name) and, from it, the editor (admin-product-form.js).
import { clear, el, money } from './api.js';
import { $, isAdmin, registerTab, safely, session } from './admin-shell.js';
import { editProduct, onProductSaved, refreshEditor } from './admin-product-form.js';

/** @typedef {import('./admin-product-form.js').Product} Product */

/** @type {string | null} */
let cursor = null;
/** The name search the list shows ('' for every product). */
let search = '';

async function loadProducts(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  if (search) query.set('q', search);
  if (more && cursor) query.set('cursor', cursor);
  const page = await session.call('GET', `/admin/products?${query}`);
  const body = $('products');
  if (!more) clear(body);
  for (const product of page.data) body.append(productRow(product));
  cursor = page.nextCursor;
  $('products-more').hidden = !page.nextCursor;
  $('products-empty').hidden = body.children.length > 0;
}

/** @param {Product} product */
function thumbnail(product) {
  return product.imageUrl
    ? el('img', { src: product.imageUrl, alt: '', className: 'thumb', width: 48, height: 36 })
    : el('span', { className: 'thumb' });
}

/** @param {Product} product */
function productRow(product) {
  const edit = el(
    'button',
    { type: 'button', className: 'link', disabled: !isAdmin(), 'aria-label': `Edit ${product.name}` },
    'Edit',
  );
  edit.addEventListener('click', () => {
    editProduct(product);
    $('product-editor').scrollIntoView({ block: 'start' });
  });
  return el(
    'tr',
    { dataset: { productId: product.id } },
    el('td', {}, thumbnail(product)),
    el('td', { dataset: { label: 'SKU' } }, el('code', {}, product.sku)),
    el('td', { dataset: { label: 'Name' } }, product.name),
    el('td', { className: 'num', dataset: { label: 'Price' } }, money(product.price)),
    el('td', { className: 'num', dataset: { label: 'Stock' } }, String(product.stock)),
    el('td', { dataset: { label: 'Active' } }, product.active ? 'Yes' : 'No'),
    el('td', {}, edit),
  );
}

/** A saved product replaces its row, or (new) leads the list. @param {Product} product */
function showSaved(product) {
  const row = productRow(product);
  // Product ids are letters, digits and "_": safe in a selector as they are.
  const old = document.querySelector(`#products tr[data-product-id="${product.id}"]`);
  if (old) old.replaceWith(row);
  else $('products').prepend(row);
  $('products-empty').hidden = true;
}
onProductSaved(showSaved);

$('products-search').addEventListener('submit', (event) => {
  event.preventDefault();
  search = String(new FormData(/** @type {HTMLFormElement} */ (event.currentTarget)).get('q') ?? '').trim();
  safely(loadProducts());
});
$('products-reload').addEventListener('click', () => safely(loadProducts()));
$('products-more').addEventListener('click', () => safely(loadProducts(true)));

registerTab('products', {
  load: () => {
    refreshEditor();
    return loadProducts();
  },
});
