// @ts-check
// The products tab: create, list, change stock and the active flag.
import { busy, clear, el, money } from './api.js';
import { $, isAdmin, notify, registerTab, safely, session } from './admin-shell.js';

let cursor = null;

async function loadProducts(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  if (more && cursor) query.set('cursor', cursor);
  const page = await session.call('GET', `/admin/products?${query}`);
  const body = $('products');
  if (!more) clear(body);
  for (const product of page.data) body.append(productRow(product));
  cursor = page.nextCursor;
  $('products-more').hidden = !page.nextCursor;
}

function thumbnail(product) {
  return product.imageUrl
    ? el('img', { src: product.imageUrl, alt: '', className: 'thumb', width: 48, height: 36 })
    : el('span', { className: 'thumb' });
}

function productRow(product) {
  const row = el('tr', { dataset: { productId: product.id } });
  const fill = (p) => {
    const stock = el('input', {
      type: 'number',
      min: '0',
      step: '1',
      value: String(p.stock),
      className: 'qty',
      'aria-label': `Stock of ${p.name}`,
    });
    const active = el('input', { type: 'checkbox', checked: p.active, 'aria-label': `${p.name} is active` });
    const save = el('button', { type: 'button', disabled: !isAdmin() }, 'Save');
    save.addEventListener(
      'click',
      busy(
        save,
        async () => {
          const next = await session.call('PATCH', `/admin/products/${encodeURIComponent(p.id)}`, {
            body: { stock: Number(stock.value), active: active.checked },
          });
          fill(next);
          notify(`${next.name} saved.`, 'ok');
        },
        notify,
      ),
    );
    row.replaceChildren(
      el('td', {}, thumbnail(p)),
      el('td', {}, el('code', {}, p.sku)),
      el('td', {}, p.name),
      el('td', { className: 'num' }, money(p.price)),
      el('td', {}, stock),
      el('td', {}, active),
      el('td', {}, save),
    );
  };
  fill(product);
  return row;
}

$('product-form').addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  void busy(
    form.querySelector('button'),
    async () => {
      const data = new FormData(form);
      const description = String(data.get('description') ?? '').trim();
      const imageUrl = String(data.get('imageUrl') ?? '').trim();
      const product = await session.call('POST', '/admin/products', {
        body: {
          sku: String(data.get('sku')).trim(),
          name: String(data.get('name')).trim(),
          ...(description ? { description } : {}),
          ...(imageUrl ? { imageUrl } : {}),
          price: { amount: Number(data.get('amount')), currency: String(data.get('currency')).trim().toLowerCase() },
          stock: Number(data.get('stock')),
        },
      });
      form.reset();
      notify(`Product ${product.name} created.`, 'ok');
      await loadProducts();
    },
    notify,
  )(event);
});

$('products-reload').addEventListener('click', () => safely(loadProducts()));
$('products-more').addEventListener('click', () => safely(loadProducts(true)));

registerTab('products', { load: () => loadProducts() });
