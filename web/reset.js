// @ts-check
// "Forgot password": without a token, ask for a link; with the mailed link's `?token=`, choose a new password.
import { busy, createSession, notifier } from './api.js';

const session = createSession('fulcrum.shop');
const $ = (id) => document.getElementById(id);
const notify = notifier($('notice'));
const token = new URLSearchParams(location.search).get('token');

$('ask').hidden = Boolean(token);
$('choose').hidden = !token;

$('ask-form').addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  void busy(
    form.querySelector('button'),
    async () => {
      const email = String(new FormData(form).get('email'));
      await session.send('POST', '/auth/password-reset', { body: { email } });
      form.reset();
      notify(`If ${email} has an account, a link is on its way. It works once, for 30 minutes.`, 'ok');
    },
    notify,
  )(event);
});

$('choose-form').addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  void busy(
    form.querySelector('button'),
    async () => {
      const data = new FormData(form);
      if (data.get('password') !== data.get('repeat')) throw new Error('The two passwords differ.');
      await session.send('POST', '/auth/password-reset/confirm', {
        body: { token, password: String(data.get('password')) },
      });
      // The old session of this tab, if any, is revoked: forget it.
      await session.logout();
      history.replaceState(null, '', '/reset');
      $('choose').hidden = true;
      $('done').hidden = false;
      notify('');
    },
    notify,
  )(event);
});
