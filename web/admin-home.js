// @ts-check
// The dashboard home (GET /admin/stats): today's orders and revenue, payments waiting for an admin, the webhook
// inbox, and orders per minute over the last hour drawn as an SVG bar chart. Read when shown, again on live order
// events (at most every 2 s) and every 30 s while shown, so the last hour moves on.
import { el, money } from './api.js';
import { $, isStaff, registerTab, safely, session } from './admin-shell.js';
import { onLive } from './admin-live.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 160;

/** An SVG element with attributes (text only through textContent). */
function svg(tag, attrs = {}, text = '') {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/**
 * Orders per minute as bars scaled to the busiest minute (the SVG stretches to the width; its labels are HTML
 * beside it, so they keep their size on a phone).
 * @param {{ minute: string, orders: number }[]} minutes
 */
export function ordersChart(minutes) {
  const total = minutes.reduce((n, m) => n + m.orders, 0);
  const peak = Math.max(1, ...minutes.map((m) => m.orders));
  const first = clock(minutes[0].minute);
  const label =
    `Orders per minute over the last hour, ${first} to now: ` +
    `${total} orders in all, at most ${total ? peak : 0} in one minute.`;
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-labelledby': 'home-chart-caption',
    class: 'chart',
    preserveAspectRatio: 'none',
    id: 'home-chart',
  });
  const step = W / minutes.length;
  const y = (n) => H - (n / peak) * (H - 4);
  chart.append(svg('line', { x1: 0, x2: W, y1: y(peak), y2: y(peak), class: 'chart-grid' }));
  chart.append(svg('line', { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: 'chart-grid' }));
  minutes.forEach((m, i) => {
    const bar = svg('rect', {
      x: i * step + 1,
      y: y(m.orders),
      width: step - 2,
      height: H - y(m.orders),
      class: 'chart-bar',
      'data-minute': m.minute,
      'data-orders': m.orders,
    });
    bar.append(svg('title', {}, `${clock(m.minute)}: ${m.orders} orders`));
    chart.append(bar);
  });
  const middle = clock(minutes[30].minute);
  return el(
    'figure',
    { className: 'chart-box' },
    el(
      'div',
      { className: 'chart-plot' },
      el(
        'div',
        { className: 'chart-y muted', 'aria-hidden': 'true' },
        el('span', {}, String(peak)),
        el('span', {}, '0'),
      ),
      chart,
    ),
    el(
      'div',
      { className: 'chart-x muted', 'aria-hidden': 'true' },
      el('span', {}, first),
      el('span', {}, middle),
      el('span', {}, 'now'),
    ),
    el('figcaption', { className: 'muted', id: 'home-chart-caption' }, label),
  );
}

function tile(name, value, id, note = '') {
  return el(
    'div',
    { className: 'tile' },
    el('dt', {}, name),
    el('dd', { id, className: 'big' }, value),
    note ? el('dd', { className: 'muted' }, note) : null,
  );
}

function render(stats) {
  const revenue = stats.today.revenue.length
    ? stats.today.revenue.map(money).join(' + ')
    : money({ amount: 0, currency: 'usd' });
  const inbox = stats.webhookInbox;
  const reload = el('button', { type: 'button' }, 'Reload');
  reload.addEventListener('click', () => safely(load()));
  $('home-tab').replaceChildren(
    el('div', { className: 'inline' }, el('h2', { id: 'home-title' }, 'Home'), reload),
    el(
      'p',
      { className: 'muted' },
      `Today (UTC, since ${new Date(stats.today.since).toLocaleString()}); read ${clock(stats.at)}.`,
    ),
    el(
      'dl',
      { className: 'tiles' },
      tile('Orders today', String(stats.today.orders), 'home-orders'),
      tile('Revenue today', revenue, 'home-revenue', 'paid orders, less refunds'),
      tile('Flagged payments', String(stats.flaggedPayments), 'home-flagged', 'waiting for an admin'),
      tile(
        'Webhook inbox',
        String(inbox.pending + inbox.failed),
        'home-inbox',
        `${inbox.pending} pending, ${inbox.failed} failed`,
      ),
      tile('Dead webhook rows', String(inbox.dead), 'home-dead', 'given up: retry them'),
    ),
    el('h3', {}, 'Orders per minute, last hour'),
    ordersChart(stats.ordersPerMinute),
  );
}

let shown = false;
let timer = 0;
let lastRead = 0;

async function load() {
  if (!isStaff()) return;
  lastRead = Date.now();
  render(await session.call('GET', '/admin/stats'));
}

registerTab('home', {
  load: async () => {
    shown = true;
    window.clearInterval(timer);
    timer = window.setInterval(() => safely(load()), 30_000);
    await load();
  },
  leave: () => {
    shown = false;
    window.clearInterval(timer);
  },
});

// A new or changed order: read the figures again, at most every 2 s.
let pending = 0;
onLive('change', () => {
  if (!shown || pending) return;
  pending = window.setTimeout(
    () => {
      pending = 0;
      if (shown) safely(load());
    },
    Math.max(0, 2_000 - (Date.now() - lastRead)),
  );
});
