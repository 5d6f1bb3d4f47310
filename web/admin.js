// @ts-check
// The admin dashboard's entry: login, the first admin's setup, the tabs and the staff feed. Each tab lives in a
// module of its own (admin-home.js, admin-orders.js with admin-order-detail.js, admin-products.js, admin-payments.js, admin-webhooks.js, admin-mail.js) registered through
// admin-shell.js. Support staff read; admins also act (the API decides).
// On a fresh install (no admin yet) it shows the "create the first admin" form instead of the login; the
// one-time token comes from the start banner's link `/admin?setup=<token>`.
import { busy } from './api.js';
import { $, isStaff, notify, renderFrame, safely, session, showTab, STAFF } from './admin-shell.js';
import { connectStaffFeed, disconnectStaffFeed } from './admin-live.js';
import './admin-home.js';
import './admin-orders.js';
import './admin-products.js';
import './admin-payments.js';
import './admin-webhooks.js';
import './admin-mail.js';

/** From the banner's link; it leaves the address bar once used or useless. */
const setupToken = new URLSearchParams(location.search).get('setup');

function forgetSetupLink() {
  if (new URLSearchParams(location.search).has('setup')) history.replaceState(null, '', '/admin');
}

async function enter() {
  connectStaffFeed();
  await showTab('orders');
}

for (const button of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-tab]'))) {
  button.addEventListener('click', () => safely(showTab(button.dataset.tab)));
}

$('menu').addEventListener('click', () => {
  const open = document.body.classList.toggle('nav-open');
  $('menu').setAttribute('aria-expanded', String(open));
});

$('login-form').addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
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
      await enter();
    },
    notify,
  )(event);
});

$('logout').addEventListener('click', () => {
  disconnectStaffFeed();
  void session.logout().then(() => {
    renderFrame();
    notify('You are logged out.');
  });
});

session.onChange((value) => {
  if (value === null) {
    disconnectStaffFeed();
    renderFrame();
  }
});

$('setup-form').addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
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
            forgetSetupLink();
            renderFrame(false);
            throw new Error('An admin exists already: log in below.');
          }
          throw error;
        });
      session.adopt(answer);
      form.reset();
      forgetSetupLink();
      renderFrame(false);
      notify(`Welcome, ${answer.user.name}: you are the admin. The shop is at /, with its demo products.`, 'ok');
      await enter();
    },
    notify,
  )(event);
});

async function checkSetup() {
  const needed = await session
    .call('GET', '/setup')
    .then((answer) => answer.needed === true)
    .catch(() => false);
  const field = $('setup-token-field');
  const input = field.querySelector('input');
  input.value = setupToken ?? '';
  input.required = true;
  field.hidden = Boolean(setupToken);
  if (!needed && setupToken !== null) {
    forgetSetupLink();
    if (!session.user()) notify('This shop has an admin already: log in.', 'info');
  }
  renderFrame(needed);
}

async function start() {
  await checkSetup();
  if (isStaff()) await enter();
  else renderFrame();
}

safely(start());
