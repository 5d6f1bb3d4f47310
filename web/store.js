// @ts-check
// The storefront: account, products, cart, checkout, orders and the return from the hosted checkout, one module
// per area (store-cart, store-checkout, store-orders, store-live; store-shell holds what they share).
// Coming back from the payment page proves nothing: the order is paid only when the server says PAID
// (over Socket.IO, or when the order is read again).
import { busy } from './api.js';
import { loadProducts, renderCart } from './store-cart.js';
import './store-checkout.js';
import { connectLive, disconnectLive } from './store-live.js';
import { loadOrders, renderOrders, setAfterStockChange, showReturn } from './store-orders.js';
import { route } from './store-product.js';
import { $, notify, orders, returning, session } from './store-shell.js';
import { verifyNotice } from './verify-notice.js';

const emailNotice = verifyNotice(
  session,
  { box: $('verify-notice'), text: $('verify-text'), resend: $('verify-resend') },
  notify,
);

setAfterStockChange(() => void loadProducts().catch(() => undefined));

function renderAccount() {
  const user = session.user();
  $('whoami').textContent = user ? `${user.name} (${user.email})` : '';
  $('logout').hidden = !user;
  $('account-link').hidden = !user;
  void emailNotice.refresh();
  $('auth').hidden = Boolean(user);
  $('orders-section').hidden = !user;
  renderCart();
}

/** @param {HTMLFormElement} form */
const formValues = (form) => Object.fromEntries(new FormData(form).entries());

$('login-form').addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  void busy(
    form.querySelector('button'),
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
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  void busy(
    form.querySelector('button'),
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
    disconnectLive();
    orders.clear();
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

async function start() {
  renderAccount();
  route();
  const products = loadProducts().catch((error) => notify(error.message, 'error'));
  if (session.user()) {
    connectLive();
    await Promise.all([
      products,
      loadOrders().catch((error) => notify(error.message, 'error')),
      returning ? showReturn() : Promise.resolve(),
    ]);
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
