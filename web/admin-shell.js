// @ts-check
// The admin dashboard's frame, shared by every tab module: the session, notices, the confirmation dialog,
// and the tab registry. A tab is one module that calls `registerTab(name, { load })` and owns its section
// `#<name>-tab` and a button `[data-tab=<name>]` in admin.html; adding a tab is adding those three.
import { createSession, notifier } from './api.js';

export const session = createSession('fulcrum.admin');
/** @param {string} id @returns {any} an element of admin.html (its ids are fixed) */
export const $ = (id) => document.getElementById(id);
export const notify = notifier($('notice'));
export const STAFF = new Set(['support', 'admin']);
export const isAdmin = () => session.user()?.role === 'admin';
export const isStaff = () => STAFF.has(session.user()?.role ?? '');

/** Runs a promise for its effect; a failure becomes the page's error notice. */
export const safely = (promise) => void promise.catch((error) => notify(error.message, 'error'));

const tabs = new Map();

/** `load(more)` fills the tab; `leave()` (optional) runs when another tab is shown. */
export function registerTab(name, handlers) {
  tabs.set(name, handlers);
}

let current = 'orders';
export const currentTab = () => current;

export async function showTab(name) {
  const previous = tabs.get(current);
  if (previous && current !== name) previous.leave?.();
  current = tabs.has(name) ? name : 'orders';
  for (const button of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-tab]'))) {
    if (button.dataset.tab === current) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  document.body.classList.remove('nav-open');
  renderFrame();
  if (!isStaff()) return;
  await tabs.get(current)?.load();
}

/** Shows what the signed-in state allows: nothing that needs a login is visible before it. */
export function renderFrame(setupNeeded = frameState.setupNeeded) {
  frameState.setupNeeded = setupNeeded;
  const user = session.user();
  const staff = isStaff();
  const setup = setupNeeded && !staff;
  $('setup').hidden = !setup;
  $('login').hidden = staff || setup;
  $('tabs').hidden = !staff;
  $('menu').hidden = !staff;
  $('logout').hidden = !user;
  $('whoami').textContent = user ? `${user.email} (${user.role})` : '';
  for (const tab of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.tab')))
    tab.hidden = !staff || tab.id !== `${current}-tab`;
}
const frameState = { setupNeeded: false };

/**
 * Asks in an in-page dialog (focus moves into it, Escape answers no). Resolves true for `yes`.
 * One question at a time: a new one answers the pending one with false.
 */
export function ask(message, yes = 'Confirm', no = 'Back') {
  const dialog = /** @type {HTMLDialogElement} */ ($('confirm'));
  $('confirm-text').textContent = message;
  $('confirm-yes').textContent = yes;
  $('confirm-no').textContent = no;
  if (dialog.open) dialog.close('no');
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    $('confirm-no').focus();
  });
}
