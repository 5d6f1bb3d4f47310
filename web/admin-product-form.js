// @ts-check
// The products tab's editor: a new product, or the one picked in the list. The price is typed in the currency's
// units (12.50; 1500 for yen), the currency picked from the API's list; an edit sends only the fields that
// changed. Products carry no version, so an edit takes no If-Match: the last save wins. The image is sent
// as its own bytes (PUT …/image) after the product is saved; the API reads its type from the bytes.
import { busy, el } from './api.js';
import { $, isAdmin, notify, session } from './admin-shell.js';
import { CURRENCIES, currencyLabel, exponentOf, toMinorUnits, toUnitsText } from './currencies.js';

/** @typedef {{ id: string, sku: string, name: string, description: string | null, price: { amount: number, currency: string }, stock: number, active: boolean, imageUrl: string | null }} Product */

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const IMAGE_MAX_BYTES = 2 * 1024 * 1024;

/** @param {string} tag @param {Record<string, unknown>} props */
const input = (tag, props) => /** @type {HTMLInputElement} */ (el(tag, props));
/**
 * A label and its control side by side (not nested: a select's name would be its label and its option).
 * @param {string} text @param {HTMLElement} control @param {string} [className] @param {Node} [after]
 */
const field = (text, control, className = '', after = undefined) =>
  el('div', { className: `field ${className}`.trim() }, el('label', { htmlFor: control.id }, text), control, after);

const title = el('h2', { id: 'product-form-title' }, 'New product');
const sku = input('input', { id: 'product-sku', name: 'sku', required: true, maxLength: 64, autocomplete: 'off' });
const name = input('input', { id: 'product-name', name: 'name', required: true, maxLength: 200, autocomplete: 'off' });
const description = input('textarea', { id: 'product-description', name: 'description', maxLength: 5000, rows: 2 });
const amount = input('input', {
  id: 'product-amount',
  name: 'amount',
  inputMode: 'decimal',
  required: true,
  autocomplete: 'off',
  'aria-describedby': 'price-hint',
});
const currency = /** @type {HTMLSelectElement} */ (
  el(
    'select',
    { id: 'product-currency', name: 'currency', required: true },
    Object.keys(CURRENCIES).map((code) => el('option', { value: code }, currencyLabel(code))),
  )
);
const hint = el('small', { id: 'price-hint', className: 'muted' });
const stock = input('input', {
  id: 'product-stock',
  name: 'stock',
  type: 'number',
  min: '0',
  step: '1',
  value: '0',
  required: true,
});
const active = input('input', { name: 'active', type: 'checkbox', checked: true });
const image = input('input', { id: 'product-image', name: 'image', type: 'file', accept: IMAGE_TYPES.join(',') });
const preview = /** @type {HTMLImageElement} */ (el('img', { className: 'thumb', alt: '', width: 48, height: 36 }));
const removeImage = input('input', { name: 'removeImage', type: 'checkbox' });
const current = el(
  'div',
  { className: 'current-image', hidden: true },
  preview,
  el('label', { className: 'check' }, removeImage, 'Remove the image'),
);
const error = el('p', { id: 'product-form-error', className: 'error-text', role: 'alert' });
const submit = el('button', { type: 'submit' }, 'Create');
const cancel = el('button', { type: 'button', className: 'link', hidden: true }, 'Cancel editing');
const form = /** @type {HTMLFormElement} */ (
  el(
    'form',
    { id: 'product-form', className: 'product-form', 'aria-labelledby': 'product-form-title' },
    field('SKU', sku),
    field('Name', name),
    field('Description', description, 'span'),
    field('Price', amount, '', hint),
    field('Currency', currency),
    field('Stock', stock),
    el('label', { className: 'check' }, active, 'Active: shown in the shop'),
    field('Image (PNG, JPEG or WebP, up to 2 MiB)', image, 'span'),
    current,
    error,
    el('div', { className: 'inline span' }, submit, cancel),
  )
);
$('product-editor').append(title, form);

/** @type {Product | null} the product being edited; null: a new one */
let editing = null;
/** @type {(product: Product) => void} */
let saved = () => undefined;

/** Called with the product after every save (the list shows it). @param {(product: Product) => void} listener */
export const onProductSaved = (listener) => {
  saved = listener;
};

const example = (code) => toUnitsText(1250 * 10 ** Math.max(0, exponentOf(code) - 2), code);
function showHint() {
  const digits = exponentOf(currency.value);
  hint.textContent = `In ${currency.value.toUpperCase()}, ${digits === 0 ? 'no decimals' : `up to ${digits} decimals`}: e.g. ${example(currency.value)}`;
}
currency.addEventListener('change', showHint);

/** Support may look, only admins save (the API refuses the rest anyway). */
export function refreshEditor() {
  submit.disabled = !isAdmin();
}

/** Fills the editor with a product to change (null: empty, for a new one). @param {Product | null} product */
export function editProduct(product) {
  editing = product;
  error.textContent = '';
  image.value = '';
  removeImage.checked = false;
  title.textContent = product ? `Edit ${product.name}` : 'New product';
  submit.textContent = product ? 'Save changes' : 'Create';
  cancel.hidden = !product;
  sku.value = product?.sku ?? '';
  sku.disabled = Boolean(product);
  name.value = product?.name ?? '';
  description.value = product?.description ?? '';
  if (product) currency.value = product.price.currency;
  amount.value = product ? toUnitsText(product.price.amount, product.price.currency) : '';
  stock.value = String(product?.stock ?? 0);
  active.checked = product?.active ?? true;
  current.hidden = !product?.imageUrl;
  if (product?.imageUrl) preview.src = product.imageUrl;
  showHint();
  if (product) name.focus();
}

/** The fields of the form that differ from the product (all of them for a new one). */
function changes(/** @type {Product | null} */ product, /** @type {number} */ minor) {
  const text = description.value.trim();
  const next = {
    name: name.value.trim(),
    description: text === '' ? null : text,
    price: { amount: minor, currency: currency.value },
    stock: Number(stock.value),
    active: active.checked,
  };
  if (!product) return next;
  /** @type {Record<string, unknown>} */
  const diff = {};
  if (next.name !== product.name) diff.name = next.name;
  if (next.description !== (product.description || null)) diff.description = next.description;
  if (minor !== product.price.amount || next.price.currency !== product.price.currency) diff.price = next.price;
  if (next.stock !== product.stock) diff.stock = next.stock;
  if (next.active !== product.active) diff.active = next.active;
  return diff;
}

/** A problem the page can tell before asking the API; undefined when there is none. */
function localProblem(/** @type {number | null} */ minor, /** @type {File | undefined} */ file) {
  if (minor === null) {
    const digits = exponentOf(currency.value);
    return `Type the price in ${currency.value.toUpperCase()} with ${digits === 0 ? 'no decimals' : `at most ${digits} decimals`}, e.g. ${example(currency.value)}.`;
  }
  if (file && !IMAGE_TYPES.includes(file.type)) return 'The image must be a PNG, JPEG or WebP file.';
  if (file && file.size > IMAGE_MAX_BYTES) return 'The image is over 2 MiB: pick a smaller one.';
  return undefined;
}

async function save() {
  const creating = editing === null;
  const minor = toMinorUnits(amount.value, currency.value);
  const file = image.files?.[0];
  const problem = localProblem(minor, file);
  // Said beside the form only: nothing was sent.
  if (problem !== undefined) {
    error.textContent = problem;
    return;
  }
  const body = changes(editing, /** @type {number} */ (minor));
  /** @type {Product} */
  let product;
  if (creating) {
    // A new product has no description to clear: none is left out (null is only for PATCH).
    const { description: text, ...rest } = body;
    const fields = { sku: sku.value.trim(), ...rest, ...(text ? { description: text } : {}) };
    product = await session.call('POST', '/admin/products', { body: fields });
  } else if (Object.keys(body).length > 0) {
    product = await session.call('PATCH', `/admin/products/${encodeURIComponent(editing.id)}`, { body });
  } else product = editing;
  const path = `/admin/products/${encodeURIComponent(product.id)}/image`;
  try {
    if (file) product = await session.call('PUT', path, { body: file });
    else if (removeImage.checked && product.imageUrl) product = await session.call('DELETE', path);
  } catch (failure) {
    // The product is saved: what is left to do is the image, on the product as it is now (no second create).
    saved(product);
    editProduct(product);
    throw new Error(
      `${product.name} is saved, but not its image: ${failure instanceof Error ? failure.message : failure}`,
      { cause: failure },
    );
  }
  const nothing = !creating && Object.keys(body).length === 0 && !file && !removeImage.checked;
  saved(product);
  editProduct(null);
  notify(nothing ? 'Nothing changed.' : `${product.name} ${creating ? 'created' : 'saved'}.`, nothing ? 'info' : 'ok');
}

/** @param {string} message @param {string} [kind] */
function report(message, kind = 'error') {
  error.textContent = kind === 'error' ? message : '';
  notify(message, kind);
}

form.addEventListener('submit', (event) => {
  error.textContent = '';
  void busy(submit, save, report)(event);
});
cancel.addEventListener('click', () => editProduct(null));
currency.value = 'usd';
showHint();
