import qs from 'qs';
import type { HttpAnswer } from './api.ts';
import type { Core } from './core.ts';
import { ApiError } from './errors.ts';
import { findSession } from './checkout.ts';
import { payWithCard } from './payments.ts';
import type { SessionRecord } from './state.ts';
import { escapeHtml, formatMoney } from './util.ts';

const pageHeaders = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  // No form-action: it would also block the redirect to success_url after paying.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const style = `
body{font-family:system-ui,sans-serif;background:#f6f8fa;color:#1a1f36;margin:0;padding:2rem}
main{max-width:32rem;margin:auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 3px #0002}
.badge{display:inline-block;background:#ffde92;color:#7a4c00;border-radius:4px;padding:.1rem .5rem;font-size:.8rem}
table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.4rem 0;border-bottom:1px solid #eee}
td.amount{text-align:right}tr.total td{font-weight:bold;border-bottom:none}
label{display:block;margin:1rem 0 .3rem}input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem}
button{margin-top:1rem;width:100%;padding:.8rem;font-size:1rem;background:#635bff;color:#fff;border:0;border-radius:6px}
.error{color:#c0123c}.hint{color:#697386;font-size:.85rem}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${style}</style></head>
<body><main><span class="badge">Sandbox · test mode</span>
${body}
</main></body></html>
`;
}

function answer(status: number, html: string, headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { ...pageHeaders, ...headers }, body: html };
}

function summary(record: SessionRecord): string {
  const { session, lineItems } = record;
  const rows = lineItems
    .map((li) => {
      const unit = formatMoney(li.price.unit_amount, li.currency);
      return `<tr><td>${escapeHtml(li.description)}<br><span class="hint">${li.quantity} × ${escapeHtml(unit)}</span></td><td class="amount">${escapeHtml(formatMoney(li.amount_total, li.currency))}</td></tr>`;
    })
    .join('\n');
  const total = escapeHtml(formatMoney(session.amount_total, session.currency));
  return `<table>${rows}\n<tr class="total"><td>Total</td><td class="amount" id="total">${total}</td></tr></table>`;
}

function link(url: string | null, text: string): string {
  return url === null ? '' : `<p><a href="${escapeHtml(url)}">${escapeHtml(text)}</a></p>`;
}

export function renderCheckout(record: SessionRecord, error: string | null = null, card = ''): string {
  const { session } = record;
  if (session.status === 'expired') {
    return layout(
      'Checkout expired',
      `<h1>This checkout session has expired</h1>${summary(record)}${link(session.cancel_url, 'Return to the shop')}`,
    );
  }
  if (session.status === 'complete') {
    const state =
      session.payment_status === 'paid'
        ? '<p>This checkout session is complete: the payment succeeded.</p>'
        : '<p>This checkout session is complete: the payment is processing.</p>';
    const target = session.success_url?.replaceAll('{CHECKOUT_SESSION_ID}', session.id) ?? null;
    return layout(
      'Checkout complete',
      `<h1>Thank you</h1>${state}${summary(record)}${link(target, 'Return to the shop')}`,
    );
  }
  const total = escapeHtml(formatMoney(session.amount_total, session.currency));
  const errorHtml = error === null ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`;
  const body = `<h1>Pay ${total}</h1>
${summary(record)}
<form method="post" autocomplete="off">
<label for="card">Card number</label>
<input id="card" name="card" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" value="${escapeHtml(card)}" required>
${errorHtml}
<button type="submit">Pay ${total}</button>
</form>
<p class="hint">Test cards: 4242 4242 4242 4242 pays · 4000 0000 0000 0002 is declined · 4000 0000 0000 3220 pays asynchronously · 4000 0000 0000 3238 fails asynchronously.</p>
${link(session.cancel_url, 'Cancel and return to the shop')}`;
  return layout(`Pay ${total}`, body);
}

/** `GET /checkout/:id` shows the page; `POST /checkout/:id` (form field `card`) pays. */
export function handlePage(core: Core, method: string, id: string, body: string): HttpAnswer {
  let record: SessionRecord;
  try {
    record = findSession(core, id);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return answer(404, layout('Not found', '<h1>This checkout session does not exist</h1>'));
  }
  if (method === 'GET' || method === 'HEAD') return answer(200, renderCheckout(record));
  if (method !== 'POST')
    return answer(405, layout('Not allowed', '<h1>Method not allowed</h1>'), { Allow: 'GET, POST' });
  const form = qs.parse(body);
  const card = typeof form.card === 'string' ? form.card : '';
  const result = payWithCard(core, id, card);
  switch (result.outcome) {
    case 'paid':
    case 'processing':
      if (result.redirectUrl !== null) return answer(303, '', { Location: result.redirectUrl });
      return answer(200, renderCheckout(record));
    case 'declined':
      return answer(402, renderCheckout(record, result.error?.message ?? 'Your card was declined.', card));
    case 'invalid_card':
      return answer(400, renderCheckout(record, result.error?.message ?? 'Your card number is incorrect.', card));
    case 'not_open':
      return answer(409, renderCheckout(record));
  }
}
