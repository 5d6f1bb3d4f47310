// The admin dashboard: orders (filter, ship, deliver, cancel), products (create, stock, active),
// payments (flagged ones: accept or refund the money), webhook events (list, retry dead ones). Support staff read; admins also act (the API decides).
// On a fresh install (no admin yet) it shows the "create the first admin" form instead of the login; the
// one-time token comes from the start banner's link `/admin?setup=<token>`.
import { busy, clear, createSession, el, money, notifier, when } from './api.js';

const session = createSession('fulcrum.admin');
const $ = (id) => document.getElementById(id);
const notify = notifier($('notice'));
const STAFF = new Set(['support', 'admin']);

const cursors = { orders: null, products: null, payments: null, webhooks: null };
let currentTab = 'orders';

const isAdmin = () => session.user()?.role === 'admin';

/** From the banner's link; it leaves the address bar once used or useless. */
const setupToken = new URLSearchParams(location.search).get('setup');
/** GET /setup said no admin exists yet. */
let setupNeeded = false;

function forgetSetupLink() {
  if (new URLSearchParams(location.search).has('setup')) history.replaceState(null, '', '/admin');
}

function render() {
  const user = session.user();
  const staff = Boolean(user && STAFF.has(user.role));
  const setup = setupNeeded && !staff;
  $('setup').hidden = !setup;
  $('login').hidden = staff || setup;
  $('tabs').hidden = !staff;
  $('logout').hidden = !user;
  $('whoami').textContent = user ? `${user.email} (${user.role})` : '';
  for (const tab of document.querySelectorAll('.tab')) tab.hidden = !staff || tab.id !== `${currentTab}-tab`;
}

async function showTab(name) {
  currentTab = name;
  render();
  if (!session.user()) return;
  if (name === 'orders') await loadOrders();
  if (name === 'products') await loadProducts();
  if (name === 'payments') await loadPayments();
  if (name === 'webhooks') await loadWebhooks();
}

const safely = (promise) => void promise.catch((error) => notify(error.message, 'error'));

for (const button of document.querySelectorAll('[data-tab]')) {
  button.addEventListener('click', () => safely(showTab(button.dataset.tab)));
}

$('login-form').addEventListener('submit', (event) => {
  const form = event.currentTarget;
  void busy(
    form.querySelector('button'),
    async () => {
      const data = new FormData(form);
      const user = await session.login(String(data.get('email')), String(data.get('password')));
      if (!STAFF.has(user.role)) {
        await session.logout();
        throw new Error('This account is not a staff account.');
      }
      form.reset();
      notify('');
      await showTab('orders');
    },
    notify,
  )(event);
});

$('logout').addEventListener('click', () => {
  void session.logout().then(() => {
    render();
    notify('You are logged out.');
  });
});

session.onChange((value) => {
  if (value === null) render();
});

// ---------------------------------------------------------------- first admin

$('setup-form').addEventListener('submit', (event) => {
  const form = event.currentTarget;
  void busy(
    form.querySelector('button'),
    async () => {
      const data = new FormData(form);
      const answer = await session
        .call('POST', '/setup', {
          body: {
            token: String(data.get('token') ?? '').trim(),
            name: String(data.get('name') ?? '').trim(),
            email: String(data.get('email') ?? '').trim(),
            password: String(data.get('password') ?? ''),
          },
        })
        .catch((error) => {
          if (error.code === 'setup_done') {
            setupNeeded = false;
            forgetSetupLink();
            render();
            throw new Error('An admin exists already: log in below.');
          }
          throw error;
        });
      session.adopt(answer);
      setupNeeded = false;
      form.reset();
      forgetSetupLink();
      notify(`Welcome, ${answer.user.name}: you are the admin. The shop is at /, with its demo products.`, 'ok');
      await showTab('orders');
    },
    notify,
  )(event);
});

async function checkSetup() {
  try {
    setupNeeded = (await session.call('GET', '/setup')).needed === true;
  } catch {
    setupNeeded = false;
  }
  const field = $('setup-token-field');
  const input = field.querySelector('input');
  input.value = setupToken ?? '';
  input.required = true;
  field.hidden = Boolean(setupToken);
  if (!setupNeeded && setupToken !== null) {
    forgetSetupLink();
    if (!session.user()) notify('This shop has an admin already: log in.', 'info');
  }
}

// ---------------------------------------------------------------- orders

// Only the newest list request renders: an older answer arriving late (the list before a filter changed)
// would replace rows with stale ones. The table is aria-busy while a request is out.
let ordersRequest = 0;

async function loadOrders(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const status = $('order-status').value;
  if (status) query.set('status', status);
  if (more && cursors.orders) query.set('cursor', cursors.orders);
  const body = $('orders');
  const request = ++ordersRequest;
  body.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await session.call('GET', `/orders?${query}`);
  } finally {
    if (request === ordersRequest) body.removeAttribute('aria-busy');
  }
  if (request !== ordersRequest) return;
  if (!more) clear(body);
  for (const order of page.data) body.append(orderRow(order));
  if (!more && page.data.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: 7, className: 'muted' }, 'No orders.')));
  cursors.orders = page.nextCursor;
  $('orders-more').hidden = !page.nextCursor;
}

function orderRow(order) {
  const row = el('tr', { dataset: { orderId: order.id } });
  const fill = (o) => {
    const actions = el('td', { className: 'actions' });
    if (isAdmin() && o.status === 'PAID') {
      const carrier = el('input', {
        placeholder: 'Carrier',
        'aria-label': 'Carrier',
        className: 'qty',
        maxLength: 100,
      });
      const tracking = el('input', { placeholder: 'Tracking number', 'aria-label': 'Tracking number', maxLength: 100 });
      tracking.style.width = '10rem';
      carrier.style.width = '6rem';
      const ship = el('button', { type: 'button' }, 'Ship');
      ship.addEventListener(
        'click',
        busy(
          ship,
          async () => {
            const next = await session.call('POST', `/admin/orders/${encodeURIComponent(o.id)}/ship`, {
              body: { carrier: carrier.value.trim(), trackingNumber: tracking.value.trim() },
            });
            fill(next);
            notify(`Order ${o.id} shipped.`, 'ok');
          },
          notify,
        ),
      );
      actions.append(carrier, tracking, ship);
    }
    if (isAdmin() && o.status === 'SHIPPED') {
      const deliver = el('button', { type: 'button' }, 'Mark delivered');
      deliver.addEventListener(
        'click',
        busy(
          deliver,
          async () => {
            fill(await session.call('POST', `/admin/orders/${encodeURIComponent(o.id)}/deliver`));
            notify(`Order ${o.id} delivered.`, 'ok');
          },
          notify,
        ),
      );
      actions.append(deliver);
    }
    if (o.status === 'CREATED' || (isAdmin() && o.status === 'PAID')) {
      const cancel = el(
        'button',
        { type: 'button', className: 'danger' },
        o.status === 'PAID' ? 'Cancel & refund' : 'Cancel',
      );
      cancel.addEventListener(
        'click',
        busy(
          cancel,
          async () => {
            if (!window.confirm(`Cancel order ${o.id}?${o.status === 'PAID' ? ' It will be refunded in full.' : ''}`))
              return;
            fill(
              await session.call('POST', `/orders/${encodeURIComponent(o.id)}/cancel`, {
                body: { reason: 'Cancelled by staff' },
              }),
            );
            notify(`Order ${o.id} cancelled.`, 'ok');
          },
          notify,
        ),
      );
      actions.append(cancel);
    }
    const shipment = o.shipment ? `${o.shipment.carrier} ${o.shipment.trackingNumber}` : '';
    row.replaceChildren(
      el('td', {}, el('code', {}, o.id)),
      el('td', {}, when(o.createdAt)),
      el('td', {}, el('code', {}, o.userId)),
      el(
        'td',
        { className: 'num' },
        money(o.total),
        o.refunded?.amount ? el('div', { className: 'muted' }, `refunded ${money(o.refunded)}`) : null,
      ),
      el(
        'td',
        {},
        el('span', { className: `status s-${o.status}` }, o.status),
        shipment ? el('div', { className: 'muted' }, shipment) : null,
      ),
      el('td', {}, o.payment ? `${o.payment.provider} ${o.payment.status}` : '—'),
      actions,
    );
  };
  fill(order);
  return row;
}

$('order-status').addEventListener('change', () => safely(loadOrders()));
$('orders-reload').addEventListener('click', () => safely(loadOrders()));
$('orders-more').addEventListener('click', () => safely(loadOrders(true)));

// ---------------------------------------------------------------- products

async function loadProducts(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  if (more && cursors.products) query.set('cursor', cursors.products);
  const page = await session.call('GET', `/admin/products?${query}`);
  const body = $('products');
  if (!more) clear(body);
  for (const product of page.data) body.append(productRow(product));
  cursors.products = page.nextCursor;
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
  const form = event.currentTarget;
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

// ---------------------------------------------------------------- payments

async function loadPayments(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const flagged = $('payment-flagged').value;
  if (flagged) query.set('flagged', flagged);
  const status = $('payment-status').value;
  if (status) query.set('status', status);
  if (more && cursors.payments) query.set('cursor', cursors.payments);
  const page = await session.call('GET', `/admin/payments?${query}`);
  const body = $('payments');
  if (!more) clear(body);
  for (const payment of page.data) body.append(paymentRow(payment));
  if (!more && page.data.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: 9, className: 'muted' }, 'No payments.')));
  cursors.payments = page.nextCursor;
  $('payments-more').hidden = !page.nextCursor;
}

/** Accept (the money pays the order) or refund (all of it goes back): only for a flagged payment, by an admin. */
function resolveButton(payment, action, label, done) {
  const button = el('button', { type: 'button' }, label);
  button.addEventListener(
    'click',
    busy(
      button,
      async () => {
        await session.call('POST', `/admin/payments/${encodeURIComponent(payment.id)}/resolve`, {
          body: { action, reason: `${action} from the admin dashboard` },
        });
        notify(done, 'ok');
        await loadPayments();
      },
      notify,
    ),
  );
  return button;
}

function paymentRow(payment) {
  const actions = el('td', { className: 'actions' });
  if (payment.flagged && payment.status === 'PENDING' && isAdmin()) {
    actions.append(
      resolveButton(payment, 'accept', 'Accept money', `Payment ${payment.id} accepted: the order is paid.`),
      resolveButton(payment, 'refund', 'Refund money', `Payment ${payment.id}: the money is being refunded.`),
    );
  }
  return el(
    'tr',
    { dataset: { paymentId: payment.id } },
    el('td', {}, when(payment.createdAt)),
    el('td', {}, el('code', {}, payment.id)),
    el('td', {}, el('code', {}, payment.orderId)),
    el('td', {}, payment.provider),
    el('td', {}, el('span', { className: `status s-${payment.status}` }, payment.status)),
    el('td', { className: 'num' }, money(payment.amount)),
    el('td', { className: 'num' }, payment.captured ? money(payment.captured) : ''),
    el('td', { className: 'muted' }, payment.flaggedReason ?? ''),
    actions,
  );
}

$('payment-flagged').addEventListener('change', () => safely(loadPayments()));
$('payment-status').addEventListener('change', () => safely(loadPayments()));
$('payments-reload').addEventListener('click', () => safely(loadPayments()));
$('payments-more').addEventListener('click', () => safely(loadPayments(true)));

// ---------------------------------------------------------------- webhook events

async function loadWebhooks(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const status = $('webhook-status').value;
  if (status) query.set('status', status);
  if (more && cursors.webhooks) query.set('cursor', cursors.webhooks);
  const page = await session.call('GET', `/admin/webhook-events?${query}`);
  const body = $('webhooks');
  if (!more) clear(body);
  for (const event of page.data) body.append(webhookRow(event));
  if (!more && page.data.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: 8, className: 'muted' }, 'No events.')));
  cursors.webhooks = page.nextCursor;
  $('webhooks-more').hidden = !page.nextCursor;
}

function webhookRow(event) {
  const actions = el('td');
  if (event.status === 'dead' && isAdmin()) {
    const retry = el('button', { type: 'button' }, 'Retry');
    retry.addEventListener(
      'click',
      busy(
        retry,
        async () => {
          await session.call('POST', `/admin/webhook-events/${encodeURIComponent(event.id)}/retry`);
          notify(`Event ${event.eventId} queued for another attempt.`, 'ok');
          await loadWebhooks();
        },
        notify,
      ),
    );
    actions.append(retry);
  }
  return el(
    'tr',
    { dataset: { eventId: event.id } },
    el('td', {}, when(event.receivedAt)),
    el('td', {}, event.provider),
    el('td', {}, event.type),
    el('td', {}, el('code', {}, event.eventId)),
    el('td', {}, el('span', { className: `status s-${event.status}` }, event.status)),
    el('td', { className: 'num' }, String(event.attempts)),
    el('td', { className: 'muted' }, event.lastError ?? ''),
    actions,
  );
}

$('webhook-status').addEventListener('change', () => safely(loadWebhooks()));
$('webhooks-reload').addEventListener('click', () => safely(loadWebhooks()));
$('webhooks-more').addEventListener('click', () => safely(loadWebhooks(true)));

// ---------------------------------------------------------------- start

async function start() {
  await checkSetup();
  render();
  if (session.user()) await showTab('orders');
}

safely(start());
