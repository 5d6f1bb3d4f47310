// @ts-check
// The account page: name, e-mail (effective once the new address is verified), password, deletion, and the
// notice to verify the address. It uses the storefront's session (same sessionStorage key).
import { busy, createSession, notifier } from './api.js';
import { verifyNotice } from './verify-notice.js';

const session = createSession('fulcrum.shop');
const $ = (id) => document.getElementById(id);
const notify = notifier($('notice'));
const notice = verifyNotice(
  session,
  { box: $('verify-notice'), text: $('verify-text'), resend: $('verify-resend') },
  notify,
);

function render(user) {
  $('signed-out').hidden = Boolean(user);
  $('account').hidden = !user;
  $('whoami').textContent = user ? `${user.name} (${user.email})` : '';
  if (!user) return;
  $('current-email').textContent = user.email;
  const name = /** @type {HTMLInputElement} */ (
    /** @type {HTMLFormElement} */ ($('name-form')).elements.namedItem('name')
  );
  if (document.activeElement !== name) name.value = user.name;
  notice.render(user);
}

async function load() {
  if (!session.token()) return render(null);
  try {
    render((await session.call('GET', '/auth/me')).user);
  } catch (error) {
    render(null);
    notify(error.message, 'error');
  }
}

/** A form's submit runs `action(values)`; the button is disabled meanwhile and errors are shown. */
function onSubmit(id, action) {
  $(id).addEventListener('submit', (event) => {
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    void busy(
      form.querySelector('button[type=submit]'),
      async () => {
        await action(Object.fromEntries(new FormData(form).entries()));
        form.reset();
      },
      notify,
    )(event);
  });
}

onSubmit('name-form', async ({ name }) => {
  render((await session.call('PATCH', '/auth/me', { body: { name } })).user);
  notify('Your name is saved.', 'ok');
});

onSubmit('email-form', async ({ email, password }) => {
  const { user } = await session.call('POST', '/auth/email', { body: { email, password } });
  render(user);
  notify(`We mailed a link to ${user.pendingEmail}: your address changes once you follow it.`, 'ok');
});

onSubmit('password-form', async ({ currentPassword, newPassword }) => {
  const answer = await session.call('POST', '/auth/password', { body: { currentPassword, newPassword } });
  session.adopt(answer);
  render(answer.user);
  notify('Your password is changed. Your other sessions are signed out.', 'ok');
});

onSubmit('delete-form', async ({ password }) => {
  await session.call('DELETE', '/auth/me', { body: { password } });
  await session.logout();
  render(null);
  notify('Your account is deleted.', 'ok');
});

void load();
