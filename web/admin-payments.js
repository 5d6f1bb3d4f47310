// @ts-check
// The payments tab: all or flagged payments; an admin accepts or refunds flagged money.
import { busy, clear, el, money, when } from './api.js';
import { $, isAdmin, notify, registerTab, safely, session } from './admin-shell.js';

let cursor = null;

async function loadPayments(more = false) {
  const query = new URLSearchParams({ limit: '50' });
  const flagged = $('payment-flagged').value;
  if (flagged) query.set('flagged', flagged);
  const status = $('payment-status').value;
  if (status) query.set('status', status);
  if (more && cursor) query.set('cursor', cursor);
  const page = await session.call('GET', `/admin/payments?${query}`);
  const body = $('payments');
  if (!more) clear(body);
  for (const payment of page.data) body.append(paymentRow(payment));
  if (!more && page.data.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: 9, className: 'muted' }, 'No payments.')));
  cursor = page.nextCursor;
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

registerTab('payments', { load: () => loadPayments() });
