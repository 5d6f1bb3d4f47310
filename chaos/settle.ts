// The settle phase: every process up again, faults off, webhooks flushed, and then waiting (bounded) until
// reconciliation has nothing left to do — no webhook waiting, every outbox row published, the gateway done
// with asynchronous payments and failing refunds, and every order, payment and socket unchanged for several
// reconciliation intervals.
import type Stripe from 'stripe';
import { call, num, text } from './client.ts';
import type { Cluster } from './cluster.ts';
import type { Violation } from './invariants.ts';
import type { EventLog } from './log.ts';
import { setFaults } from './mayhem.ts';
import { readGateway } from './snapshot.ts';
import type { World } from './workload.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `name{label="value"} 3` lines of a Prometheus text page, by name and label value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const labels = (m[2] ?? '')
      .split(',')
      .filter((l) => l !== '')
      .map((l) => l.replace(/^\w+="(.*)"$/, '$1'));
    out.set([m[1], ...labels].join(':'), Number(m[3]));
  }
  return out;
}

export async function flushWebhooks(sandboxUrl: string): Promise<number | null> {
  try {
    const res = await fetch(`${sandboxUrl}/_sandbox/webhooks/flush`, {
      method: 'POST',
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { flushed?: number };
    return body.flushed ?? null;
  } catch {
    return null;
  }
}

interface Progress {
  quiet: boolean;
  /** What is still moving, for the report when the bound passes. */
  waiting: string[];
  fingerprint: string;
}

async function progress(cluster: Cluster, world: World, stripe: Stripe): Promise<Progress> {
  const waiting: string[] = [];
  const [base] = cluster.liveApis();
  if (base === undefined) return { quiet: false, waiting: ['no API process alive'], fingerprint: '' };
  const metricsReply = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) }).then(
    (r) => r.text(),
    () => '',
  );
  const metrics = parseMetrics(metricsReply);
  const inboxWaiting =
    (metrics.get('fulcrum_webhook_inbox_rows:pending') ?? 0) + (metrics.get('fulcrum_webhook_inbox_rows:failed') ?? 0);
  if (metricsReply === '') waiting.push('/metrics did not answer');
  if (inboxWaiting > 0) waiting.push(`${inboxWaiting} webhook inbox rows pending or failed`);
  for (const [key, value] of metrics) {
    if (key.startsWith('fulcrum_outbox_unpublished:') && !key.includes('amqp') && value > 0) {
      waiting.push(`${value} outbox rows unpublished (${key})`);
    }
  }
  const states: string[] = [...metrics]
    .filter(([k]) => k.startsWith('fulcrum_payments:') || k.startsWith('fulcrum_orders:'))
    .map(([k, v]) => `${k}=${v}`);
  for (const orderId of [...world.orders.keys()].sort()) {
    const got = await call(base, 'GET', `/api/v1/orders/${orderId}`, { token: world.adminToken, timeoutMs: 10_000 });
    if (got.status !== 200) {
      waiting.push(`GET ${orderId}: ${got.status}`);
      continue;
    }
    const o = got.body;
    states.push(
      [
        orderId,
        text(o, 'status'),
        num(o, 'refunded', 'amount'),
        text(o, 'payment', 'status'),
        num(o, 'payment', 'refunded', 'amount'),
      ].join(':'),
    );
  }
  for (const c of world.customers) {
    if (c.socket !== undefined && !c.socket.connected) waiting.push(`socket of ${c.userId} not connected`);
    states.push(`${c.userId}:${c.socket?.lastEventId ?? '-'}`);
  }
  if (waiting.length === 0) {
    try {
      const gateway = await readGateway(stripe);
      const processing = gateway.intents.filter((i) => i.status === 'processing');
      const pending = gateway.refunds.filter((g) => g.status === 'pending');
      if (processing.length > 0) waiting.push(`gateway: ${processing.length} asynchronous payments processing`);
      if (pending.length > 0) waiting.push(`gateway: ${pending.length} refunds pending`);
      states.push(...gateway.intents.map((i) => `${i.id}:${i.status}:${i.amountRefunded}`));
      states.push(...gateway.refunds.map((g) => `${g.id}:${g.status}`));
    } catch (error) {
      waiting.push(`gateway could not be read: ${String(error)}`);
    }
  }
  return { quiet: waiting.length === 0, waiting, fingerprint: states.join('\n') };
}

export interface SettleOptions {
  /** How long the state must stay unchanged (several reconciliation intervals). */
  stableMs: number;
  /** The bound of the whole phase after the expiry wait. */
  boundMs: number;
  /** When set, first wait until this time so that every order placed could expire (and the expiry job ran). */
  expireUntil?: number;
}

/** Returns `settled` violations when the bound passes first (the invariants are checked anyway). */
export async function settle(
  cluster: Cluster,
  world: World,
  log: EventLog,
  stripe: Stripe,
  options: SettleOptions,
): Promise<Violation[]> {
  for (const proc of cluster.fulcrum.filter((p) => !p.alive)) {
    try {
      await proc.start();
      log.add('settle', `${proc.name} restarted`, [proc.name]);
    } catch (error) {
      return [
        { invariant: 'settled', message: `${proc.name} does not start again: ${String(error)}`, ids: [proc.name] },
      ];
    }
  }
  await setFaults(cluster.sandbox.url, null);
  log.add('settle', 'faults off');
  if (options.expireUntil !== undefined) {
    log.add(
      'settle',
      `waiting ${Math.max(0, Math.round((options.expireUntil - Date.now()) / 1000))} s for unpaid orders to expire`,
    );
    while (Date.now() < options.expireUntil) {
      await flushWebhooks(cluster.sandbox.url);
      await sleep(Math.min(3_000, Math.max(0, options.expireUntil - Date.now())));
    }
  }
  const deadline = Date.now() + options.boundMs;
  let since = Date.now();
  let last = '';
  let current: Progress = { quiet: false, waiting: ['not looked yet'], fingerprint: '' };
  while (Date.now() < deadline) {
    const flushed = await flushWebhooks(cluster.sandbox.url);
    if (flushed !== null && flushed > 0) log.add('settle', `flushed ${flushed} webhooks`);
    current = await progress(cluster, world, stripe);
    if (!current.quiet || current.fingerprint !== last) {
      since = Date.now();
      last = current.fingerprint;
    } else if (Date.now() - since >= options.stableMs) {
      log.add('settle', `settled: nothing changed for ${Math.round((Date.now() - since) / 1000)} s`);
      return [];
    }
    await sleep(1_000);
  }
  log.add('settle', `did not settle: ${current.waiting.join('; ') || 'the state kept changing'}`);
  return [
    {
      invariant: 'settled',
      message: `no rest within ${Math.round(options.boundMs / 1000)} s: ${current.waiting.join('; ') || 'orders, payments or sockets kept changing'}`,
      ids: [],
    },
  ];
}
