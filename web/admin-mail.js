// @ts-check
// The dashboard's Mail tab (admins): every mail Fulcrum made, by recipient and status; a row opens its text, with
// the shop's own links clickable.
import { clear, el, when } from './api.js';
import { $, registerTab, safely, session } from './admin-shell.js';

let cursor = null;

/** The text with this shop's links as links (text nodes and <a> elements only, never markup). */
function linked(text) {
  const parts = text.split(/(https?:\/\/[^\s<>"]+)/g);
  return parts.map((part, i) =>
    i % 2 === 1 && part.startsWith(location.origin)
      ? el('a', { href: part, target: '_blank', rel: 'noopener' }, part)
      : part,
  );
}

function show(mail) {
  $('mail-view').hidden = false;
  $('mail-subject').textContent = mail.subject;
  $('mail-meta').textContent = `To ${mail.to} · ${mail.eventId} · ${mail.status}`;
  clear($('mail-text')).append(...linked(mail.text));
}

function row(mail) {
  const open = el('button', { type: 'button', className: 'link' }, mail.subject);
  open.addEventListener('click', () => show(mail));
  return el(
    'tr',
    { dataset: { mailId: mail.id } },
    el('td', {}, when(mail.createdAt)),
    el('td', {}, mail.to),
    el('td', {}, open),
    el('td', {}, el('span', { className: `status s-${mail.status}` }, mail.status)),
    el('td', { className: 'num' }, String(mail.attempts)),
    el('td', {}, mail.lastError ?? ''),
    el('td', {}, when(mail.sentAt)),
  );
}

async function load(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const to = $('mail-to').value.trim();
  if (to) query.set('to', to);
  if ($('mail-status').value) query.set('status', $('mail-status').value);
  if (more && cursor) query.set('cursor', cursor);
  const page = await session.call('GET', `/admin/mail?${query}`);
  const body = $('mails');
  if (!more) {
    clear(body);
    $('mail-view').hidden = true;
  }
  for (const mail of page.data) body.append(row(mail));
  if (page.data.length === 0 && !more)
    body.append(el('tr', {}, el('td', { colSpan: 7, className: 'muted' }, 'No mail.')));
  cursor = page.nextCursor;
  $('mail-more').hidden = cursor === null;
}

$('mail-reload').addEventListener('click', () => safely(load()));
$('mail-status').addEventListener('change', () => safely(load()));
$('mail-more').addEventListener('click', () => safely(load(true)));

registerTab('mail', { load: () => load() });
