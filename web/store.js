// The storefront: account, products, cart, orders, checkout, and the return from the hosted checkout.
// Coming back from the payment page proves nothing: the order is paid only when the server says PAID
// (over Socket.IO, or when the order is read again).
import { ApiError, busy, clear, createSession, el, money, notifier, when } from './api.js';

const session = createSession('fulcrum.shop');
const $ = (id) => document.getElementById(id);
const notify = notifier($('notice'));

const CART_KEY = 'fulcrum.cart';
const EVENT_KEY = 'fulcrum.lastEventId';
const PAID_STATES = new Set(['PAID', 'SHIPPED', 'DELIVERED']);

/** productId → { product, quantity } (kept in sessionStorage so it survives the trip to the payment page). */
let cart = loadCart();
let products = [];
let productCursor = null;
/** The key for the order being placed: reused if the same attempt is retried after a network failure. */
let pendingOrderKey = null;
/** orderId → order, as last known. */
const orders = new Map();
let socket = null;

const params = new URLSearchParams(location.search);
const returning = params.get('order') ? { orderId: params.get('order'), outcome: params.get('checkout') || '' } : null;

function loadCart() {
  try {
    const raw = JSON.parse(sessionStorage.getItem(CART_KEY) || '{}');
    return new Map(Object.entries(raw).filter(([, line]) => line && line.product && line.quantity > 0));
  } catch {
    return new Map();
  }
}

function saveCart() {
  sessionStorage.setItem(CART_KEY, JSON.stringify(Object.fromEntries(cart)));
  pendingOrderKey = null;
}

// ---------------------------------------------------------------- account

function renderAccount() {
  const user = session.user();
  $('whoami').textContent = user ? `${user.name} (${user.email})` : '';
  $('logout').hidden = !user;
  $('auth').hidden = Boolean(user);
  $('orders-section').hidden = !user;
  renderCart();
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

$('login-form').addEventListener('submit', (event) => {
  const form = event.currentTarget;
  const button = form.querySelector('button');
  void busy(
    button,
    async () => {
      const { email, password } = formValues(form);
      await session.login(String(email), String(password));
      form.reset();
      notify('');
      await afterLogin();
    },
    notify,
  )(event);
});

$('register-form').addEventListener('submit', (event) => {
  const form = event.currentTarget;
  const button = form.querySelector('button');
  void busy(
    button,
    async () => {
      const { email, password, name } = formValues(form);
      await session.register(String(email), String(password), String(name));
      form.reset();
      notify('Welcome! Your account is ready.', 'ok');
      await afterLogin();
    },
    notify,
  )(event);
});

$('logout').addEventListener('click', () => {
  void session.logout().then(() => {
    socket?.disconnect();
    socket = null;
    orders.clear();
    sessionStorage.removeItem(EVENT_KEY);
    renderOrders();
    renderAccount();
    notify('You are logged out.', 'info');
  });
});

session.onChange((value) => {
  if (value === null) renderAccount();
});

async function afterLogin() {
  renderAccount();
  connectLive();
  await Promise.all([loadOrders(), returning ? showReturn() : Promise.resolve()]);
}

// ---------------------------------------------------------------- products and cart

async function loadProducts(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  if (more && productCursor) query.set('cursor', productCursor);
  const page = await session.call('GET', `/products?${query}`);
  products = more ? products.concat(page.data) : page.data;
  productCursor = page.nextCursor;
  // Prices and stock in the cart follow the catalog.
  for (const product of products) {
    const line = cart.get(product.id);
    if (line) line.product = product;
  }
  renderProducts();
  renderCart();
}

function renderProducts() {
  const list = clear($('products'));
  if (products.length === 0) list.append(el('li', { className: 'muted' }, 'No products yet.'));
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
          el('strong', { className: 'product-name' }, product.name),
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

function addToCart(product, quantity) {
  const line = cart.get(product.id);
  const next = Math.min(100, (line?.quantity ?? 0) + Math.max(1, Math.floor(quantity)));
  cart.set(product.id, { product, quantity: next });
  saveCart();
  renderCart();
  notify(`${product.name} is in your cart.`, 'ok');
}

function setQuantity(productId, quantity) {
  const line = cart.get(productId);
  if (!line) return;
  if (!(quantity > 0)) cart.delete(productId);
  else line.quantity = Math.min(100, Math.floor(quantity));
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

function renderCart() {
  const table = clear($('cart'));
  for (const [productId, { product, quantity }] of cart) {
    const input = el('input', {
      type: 'number',
      min: '0',
      max: '100',
      value: String(quantity),
      className: 'qty',
      'aria-label': `Quantity of ${product.name} in the cart`,
    });
    input.addEventListener('change', () => setQuantity(productId, Number(input.value)));
    const remove = el('button', { type: 'button', className: 'link' }, 'Remove');
    remove.addEventListener('click', () => setQuantity(productId, 0));
    table.append(
      el(
        'tr',
        {},
        el('td', {}, product.name),
        el('td', {}, input),
        el(
          'td',
          { className: 'num' },
          money({ amount: product.price.amount * quantity, currency: product.price.currency }),
        ),
        el('td', {}, remove),
      ),
    );
  }
  const total = cartTotal();
  $('cart-empty').hidden = cart.size > 0;
  $('cart-total').textContent = cart.size === 0 ? money({ amount: 0, currency: 'usd' }) : total ? money(total) : '—';
  const button = $('place-order');
  button.disabled = cart.size === 0 || !session.user();
  button.textContent = session.user() ? 'Place order' : 'Log in to order';
}

$('more-products').addEventListener('click', () => void loadProducts(true).catch((e) => notify(e.message, 'error')));

$('place-order').addEventListener('click', (event) => {
  void busy(
    event.currentTarget,
    async () => {
      const items = [...cart].map(([productId, { quantity }]) => ({ productId, quantity }));
      pendingOrderKey ??= crypto.randomUUID();
      let order;
      try {
        order = await session.call('POST', '/orders', { body: { items }, idempotencyKey: pendingOrderKey });
      } catch (error) {
        // A definite answer ends this attempt; a lost connection keeps the key so a retry cannot order twice.
        if (error instanceof ApiError && error.status !== 0) pendingOrderKey = null;
        throw error;
      }
      cart.clear();
      saveCart();
      renderCart();
      orders.set(order.id, order);
      renderOrders();
      notify(`Order ${order.id} placed: ${money(order.total)}. Pay for it in "My orders".`, 'ok');
      void loadProducts().catch(() => undefined);
    },
    notify,
  )(event);
});

// ---------------------------------------------------------------- orders and checkout

async function loadOrders() {
  if (!session.user()) return;
  const page = await session.call('GET', '/orders?limit=50');
  orders.clear();
  for (const order of page.data) orders.set(order.id, order);
  renderOrders();
}

function statusText(order) {
  if (PAID_STATES.has(order.status)) return order.status === 'PAID' ? 'PAID' : order.status;
  if (order.status === 'CREATED' && order.payment?.status === 'PENDING') return 'Payment processing…';
  if (order.status === 'CREATED') return 'Awaiting payment';
  return order.status;
}

function renderOrders() {
  const body = clear($('orders'));
  const list = [...orders.values()].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  $('orders-empty').hidden = list.length > 0;
  for (const order of list) {
    const actions = el('td', { className: 'actions' });
    if (order.status === 'CREATED') {
      const pay = el('button', { type: 'button' }, order.payment?.status === 'PENDING' ? 'Continue payment' : 'Pay');
      pay.addEventListener('click', (event) => void busy(pay, () => startCheckout(order.id), notify)(event));
      const cancel = el('button', { type: 'button', className: 'link' }, 'Cancel');
      cancel.addEventListener('click', (event) => void busy(cancel, () => cancelOrder(order.id), notify)(event));
      actions.append(pay, cancel);
    }
    const items = order.items.map((i) => `${i.quantity} × ${i.name}`).join(', ');
    body.append(
      el(
        'tr',
        { dataset: { orderId: order.id } },
        el('td', {}, el('code', {}, order.id)),
        el('td', {}, when(order.createdAt)),
        el('td', {}, items),
        el('td', { className: 'num' }, money(order.total)),
        el('td', {}, el('span', { className: `status s-${order.status}` }, statusText(order))),
        actions,
      ),
    );
  }
}

async function startCheckout(orderId) {
  let payment;
  try {
    ({ payment } = await session.call('POST', `/orders/${encodeURIComponent(orderId)}/checkout`, {
      body: { provider: 'stripe' },
      idempotencyKey: crypto.randomUUID(),
    }));
  } catch (error) {
    // A payment already under way: continue with it rather than start another.
    const pending = error instanceof ApiError ? error.problem?.payment : null;
    if (error instanceof ApiError && error.code === 'payment_already_pending' && pending?.checkoutUrl) {
      payment = pending;
    } else {
      throw error;
    }
  }
  if (!payment?.checkoutUrl) throw new Error('The payment page is not available for this order.');
  notify('Taking you to the payment page…', 'info');
  location.href = payment.checkoutUrl;
}

async function cancelOrder(orderId) {
  const order = await session.call('POST', `/orders/${encodeURIComponent(orderId)}/cancel`, {
    body: { reason: 'Cancelled by the customer' },
  });
  orders.set(order.id, order);
  renderOrders();
  if (returning?.orderId === order.id) renderReturn(order);
  notify(`Order ${order.id} is cancelled.`, 'info');
  void loadProducts().catch(() => undefined);
}

// ---------------------------------------------------------------- the return from the payment page

async function showReturn() {
  $('return').hidden = false;
  $('return-order').textContent = returning.orderId;
  try {
    const order = await session.call('GET', `/orders/${encodeURIComponent(returning.orderId)}`);
    orders.set(order.id, order);
    renderReturn(order);
  } catch (error) {
    $('return-status').textContent = error instanceof ApiError && error.status === 404 ? 'Order not found' : '';
    notify(error.message, 'error');
  }
}

function renderReturn(order, paymentStatus = order.payment?.status) {
  if (!returning || order.id !== returning.orderId) return;
  const status = $('return-status');
  const detail = $('return-detail');
  const cancelled = returning.outcome === 'cancel' || returning.outcome === 'cancelled';
  let text;
  let info;
  let kind;
  if (PAID_STATES.has(order.status)) {
    text = `Payment received — order ${order.status}`;
    info = 'Thank you! We will let you know when it ships.';
    kind = 'ok';
  } else if (order.status === 'CANCELLED') {
    text = 'Order cancelled';
    info = order.cancellationReason ?? 'This order was cancelled and will not be charged.';
    kind = 'bad';
  } else if (paymentStatus === 'FAILED' || paymentStatus === 'EXPIRED' || paymentStatus === 'CANCELED') {
    text = 'Payment not completed';
    info = 'The payment did not go through. Your order is not paid.';
    kind = 'bad';
  } else if (cancelled && paymentStatus !== 'PENDING') {
    text = 'Checkout cancelled';
    info = 'Your order is not paid.';
    kind = 'bad';
  } else if (cancelled) {
    text = 'Checkout cancelled';
    info = 'Your order is not paid. You can pay for it again below.';
    kind = 'bad';
  } else {
    // Back from the payment page, but only the server's word counts.
    text = 'Payment processing…';
    info = 'We are waiting for the payment provider to confirm. This page updates by itself.';
    kind = 'wait';
  }
  status.textContent = text;
  status.className = `big ${kind}`;
  status.dataset.orderStatus = order.status;
  detail.textContent = info;
  const items = clear($('return-items'));
  items.append(
    el(
      'ul',
      { className: 'list' },
      order.items.map((i) => el('li', {}, `${i.quantity} × ${i.name} — ${money(i.lineTotal)}`)),
    ),
    el('p', {}, 'Total: ', el('strong', {}, money(order.total))),
  );
  $('return-pay').hidden = order.status !== 'CREATED' || (paymentStatus === 'PENDING' && !cancelled);
}

$('return-pay').addEventListener('click', (event) => {
  void busy(event.currentTarget, () => startCheckout(returning.orderId), notify)(event);
});

$('return-close').addEventListener('click', () => {
  $('return').hidden = true;
  history.replaceState(null, '', '/');
});

// ---------------------------------------------------------------- live updates

function lastEventId() {
  const n = Number(sessionStorage.getItem(EVENT_KEY));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function seen(eventId) {
  if (Number.isSafeInteger(eventId) && eventId > (lastEventId() ?? 0))
    sessionStorage.setItem(EVENT_KEY, String(eventId));
}

function setLive(text) {
  $('live').textContent = text;
}

function connectLive() {
  if (socket || typeof io !== 'function' || !session.token()) {
    if (typeof io !== 'function') setLive('unavailable');
    return;
  }
  // auth as a function: every (re)connection presents the current token and where this page left off.
  socket = io({
    auth: (cb) => {
      const auth = { token: session.token() ?? '' };
      const after = lastEventId();
      if (after !== undefined) auth.lastEventId = after;
      cb(auth);
    },
  });
  socket.on('connect', () => {
    setLive('connected');
    // Anything that happened while disconnected (and before the first connection) is read again.
    void loadOrders().catch(() => undefined);
    if (returning) void refreshReturn();
  });
  socket.on('disconnect', () => setLive('reconnecting…'));
  socket.on('connect_error', (error) => {
    setLive('offline');
    if (error?.message === 'unauthorized' && session.get()?.refreshToken) {
      session
        .refresh()
        .then(() => socket?.connect())
        .catch(() => notify('Your session has ended. Please log in again.', 'error'));
    } else if (socket && !socket.active) {
      setTimeout(() => socket?.connect(), 3000);
    }
  });
  socket.on('order.updated', (event) => {
    seen(event.eventId);
    const order = orders.get(event.orderId);
    if (order) {
      order.status = event.status;
      if (order.payment && event.paymentStatus) order.payment.status = event.paymentStatus;
      renderOrders();
      renderReturn(order, event.paymentStatus ?? order.payment?.status);
    }
    if (!order || PAID_STATES.has(event.status)) void refreshOrder(event.orderId);
  });
  socket.on('payment.updated', (event) => {
    seen(event.eventId);
    const order = orders.get(event.orderId);
    if (order) {
      if (order.payment && order.payment.id === event.paymentId) order.payment.status = event.status;
      else void refreshOrder(event.orderId);
      renderOrders();
      renderReturn(order, event.status);
    }
  });
}

async function refreshOrder(orderId) {
  try {
    const order = await session.call('GET', `/orders/${encodeURIComponent(orderId)}`);
    orders.set(order.id, order);
    renderOrders();
    renderReturn(order);
  } catch {
    // The list stays as it was; the next event or reload brings it up to date.
  }
}

function refreshReturn() {
  return refreshOrder(returning.orderId);
}

// ---------------------------------------------------------------- start

async function start() {
  renderAccount();
  const products = loadProducts().catch((error) => notify(error.message, 'error'));
  if (session.user()) {
    connectLive();
    await Promise.all([products, loadOrders().catch((error) => notify(error.message, 'error'))]);
    if (returning) await showReturn();
  } else {
    await products;
    if (returning) {
      $('return').hidden = false;
      $('return-order').textContent = returning.orderId;
      $('return-status').textContent = 'Log in to see this order.';
    }
  }
}

// The Socket.IO client is a classic deferred script: it has run by the time modules execute.
void start();
