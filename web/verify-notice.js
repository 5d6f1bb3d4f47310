// @ts-check
// The notice "verify your e-mail address", with a button that mails a new link; used by the storefront and the
// account page. `render(user)` shows it while the address is unverified or a new one is pending.
import { busy } from './api.js';

export function verifyNotice(session, { box, text, resend }, notify) {
  resend.addEventListener(
    'click',
    busy(
      resend,
      async () => {
        await session.call('POST', '/auth/verify-email/resend');
        notify('A new link is on its way.', 'ok');
      },
      notify,
    ),
  );
  return {
    render(user) {
      const pending = user?.pendingEmail ?? null;
      box.hidden = !user || (user.emailVerified && pending === null);
      if (box.hidden) return;
      text.textContent =
        pending === null
          ? `Please verify ${user.email}: follow the link we mailed to it.`
          : `Your new address ${pending} is waiting for you to follow the link we mailed to it.`;
    },
    /** Reads the account again (the link may have been followed in another tab). */
    async refresh() {
      if (!session.token()) return this.render(null);
      try {
        this.render((await session.call('GET', '/auth/me')).user);
      } catch {
        this.render(null);
      }
    },
  };
}
