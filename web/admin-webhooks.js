// @ts-check
// The webhook events tab: the inbox, and a retry for dead rows.
import { busy, clear, el, when } from './api.js';
import { $, isAdmin, notify, registerTab, safely, session } from './admin-shell.js';

let cursor = null;

async function loadWebhooks(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const status = $('webhook-status').value;
  if (status) query.set('status', status);
  if (more && cursor) query.set('cursor', cursor);
  const page = await session.call('GET', `/admin/webhook-events?${query}`);
  const body = $('webhooks');
  if (!more) clear(body);
  for (const event of page.data) body.append(webhookRow(event));
  if (!more && page.data.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: 8, className: 'muted' }, 'No events.')));
  cursor = page.nextCursor;
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

registerTab('webhooks', { load: () => loadWebhooks() });
