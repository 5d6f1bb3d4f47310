import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type Stripe from 'stripe';
import { printRow, quiet, watched, type BenchContext } from './context.ts';
import { groupByPayment, type SandboxEvent } from './events.ts';
import { millis, rate } from './format.ts';
import { call, expectStatus, nowMs, pacedLatencies, summarize } from './lib.ts';

/** One payment made at the sandbox, its events not yet sent to Fulcrum. */
export interface Payment {
  orderId: string;
  /** The events as the sandbox made them (raw JSON), in its order. */
  events: string[];
  /** The raw `checkout.session.completed`. */
  completed: string;
}

async function inParallel<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/**
 * Set-up, not measured: `count` orders, each checked out (a Checkout Session at the sandbox) and paid there with
 * the card that succeeds; the sandbox has no webhook endpoint, so its events stay in its log, read here.
 */
export async function preparePayments(
  ctx: BenchContext,
  sandboxUrl: string,
  stripe: Stripe,
  count: number,
): Promise<Payment[]> {
  const orders = await inParallel(count, 8, async (i) => {
    const token = ctx.tokens[i % ctx.tokens.length]!;
    const placed = await call(ctx.base, 'POST', '/api/v1/orders', {
      token,
      headers: { 'idempotency-key': randomUUID() },
      body: { items: [{ productId: ctx.products[i % ctx.products.length], quantity: 1 }] },
    });
    expectStatus(placed, 201, 'order');
    const orderId = (placed.body as { id: string }).id;
    const checkout = await call(ctx.base, 'POST', `/api/v1/orders/${orderId}/checkout`, {
      token,
      headers: { 'idempotency-key': randomUUID() },
      body: {},
    });
    expectStatus(checkout, 201, 'checkout');
    const url = (checkout.body as { payment: { checkoutUrl: string } }).payment.checkoutUrl;
    const sessionId = url.slice(url.lastIndexOf('/') + 1);
    const paid = await fetch(`${sandboxUrl}/_sandbox/checkout/sessions/${sessionId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ card: '4242424242424242' }),
    });
    if (paid.status !== 200) throw new Error(`sandbox pay: ${paid.status} ${await paid.text()}`);
    return { orderId, sessionId };
  });
  const newestFirst: SandboxEvent[] = [];
  for await (const event of stripe.events.list({ limit: 100 })) newestFirst.push(event as unknown as SandboxEvent);
  const bySession = new Map(
    groupByPayment(newestFirst.reverse()).map((s) => [s.sessionId, s.events.map((e) => JSON.stringify(e))]),
  );
  return orders.map(({ orderId, sessionId }) => {
    const events = bySession.get(sessionId);
    const completed = events?.find((e) => e.includes('"type":"checkout.session.completed"'));
    if (events === undefined || completed === undefined) throw new Error(`no events for session ${sessionId}`);
    return { orderId, events, completed };
  });
}

/** The customers' sockets, noting when each order's `order.updated` PAID arrives (nowMs). */
export async function listenForPaid(ctx: BenchContext) {
  const paidAt = new Map<string, number>();
  let duplicates = 0;
  const sockets: Socket[] = await Promise.all(
    ctx.tokens.map(
      (token) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = io(ctx.base, { auth: { token }, transports: ['websocket'], reconnection: false });
          socket.on('order.updated', (event: { orderId: string; status: string }) => {
            if (event.status !== 'PAID') return;
            if (paidAt.has(event.orderId)) duplicates += 1;
            else paidAt.set(event.orderId, nowMs());
          });
          socket.once('session.ready', () => resolve(socket));
          socket.once('connect_error', reject);
        }),
    ),
  );
  return {
    paidAt,
    duplicates: () => duplicates,
    /** Resolves once every order is PAID, or nothing new arrived for `quietMs`. */
    async settle(orderIds: string[], quietMs: number): Promise<void> {
      let seen = -1;
      let since = nowMs();
      for (;;) {
        const done = orderIds.filter((id) => paidAt.has(id)).length;
        if (done === orderIds.length) return;
        if (done !== seen) [seen, since] = [done, nowMs()];
        else if (nowMs() - since > quietMs) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => sockets.forEach((s) => s.close()),
  };
}

type Listener = Awaited<ReturnType<typeof listenForPaid>>;

/**
 * Webhook → PAID on the socket at `rate` payments a second, each payment's events sent together (paced, open loop).
 * The first `opts.warm` payments are a warm-up at the same rate, in the same stream, and not counted — as the
 * closed-loop rows warm up first — though their p99 is printed: a process's first confirmations are its slowest
 * (code not yet compiled, each pooled connection's first use of a statement).
 */
export async function benchPaced(
  ctx: BenchContext,
  listener: Listener,
  payments: Payment[],
  opts: { label: string; rate: number; secret: string; dir: string; whole: boolean; target: string; warm: number },
): Promise<void> {
  const file = join(ctx.dir, `paced-${opts.whole ? 'whole' : 'single'}.json`);
  writeFileSync(file, JSON.stringify(payments.map((p) => (opts.whole ? p.events : [p.completed]))));
  const ids = payments.map((p) => p.orderId);
  // What earlier rows left behind (the mail job's backlog after the order rows) is not counted against this one.
  await quiet(ctx.fulcrumPid);
  const { value: result, busy } = await watched(
    ctx.fulcrumPid,
    async () => {
      const r = await ctx.load.run({
        kind: 'paced',
        url: ctx.base,
        rate: opts.rate,
        file,
        secret: opts.secret,
        warm: opts.warm,
      });
      await listener.settle(ids, 15_000);
      return r;
    },
    ctx.base,
  );
  const { warmup, measured } = pacedLatencies(ids, result.sentAt!, listener.paidAt, opts.warm);
  const measuredIds = ids.slice(opts.warm);
  const confirmed = measured.length;
  const firstSent = result.sentAt![opts.warm] ?? result.startedAt;
  const lastPaid = Math.max(...measuredIds.map((id) => listener.paidAt.get(id) ?? 0));
  const s = confirmed === 0 ? undefined : summarize(measured);
  ctx.windows.set(opts.label, [firstSent, lastPaid]);
  printRow(
    opts.label,
    {
      rps: confirmed === 0 ? 0 : confirmed / ((lastPaid - firstSent) / 1000),
      p50: s?.p50 ?? NaN,
      p99: s?.p99 ?? NaN,
      cpuShare: result.cpuShare,
      non2xx: result.non2xx,
      errors: result.errors,
    },
    busy,
  );
  const cold = warmup.length === 0 ? undefined : summarize(warmup);
  console.log(
    `  ${confirmed} of ${measuredIds.length} confirmed (${listener.duplicates()} PAID twice so far); sent ` +
      `${rate(result.sendRate ?? NaN)} payments (${opts.whole ? `${payments[0]?.events.length} events each` : '1 event each'}); ` +
      `webhook answers p50 ${millis(result.p50)} p99 ${millis(result.p99)}; ` +
      (opts.warm === 0
        ? 'no warm-up; '
        : `after a warm-up of ${opts.warm} payments in the same stream (${warmup.length} confirmed, p99 ${millis(cold?.p99 ?? NaN)}); `) +
      `target ${opts.target}`,
  );
}

/** A backlog of whole event sequences posted as fast as Fulcrum takes them (ingest only), then drained. */
export async function benchDrain(
  ctx: BenchContext,
  listener: Listener,
  payments: Payment[],
  opts: { secret: string; dir: string },
): Promise<void> {
  const events = payments.flatMap((p) => p.events);
  const file = join(ctx.dir, 'backlog.json');
  writeFileSync(file, JSON.stringify(events));
  const ids = payments.map((p) => p.orderId);
  // What earlier rows left behind (the mail job's backlog after the order rows) is not counted against this one.
  await quiet(ctx.fulcrumPid);
  const { value: result, busy } = await watched(
    ctx.fulcrumPid,
    async () => {
      const r = await ctx.load.run({
        kind: 'cannon',
        url: ctx.base,
        connections: Math.min(16, events.length),
        amount: events.length,
        request: { type: 'events', file, secret: opts.secret },
      });
      await listener.settle(ids, 30_000);
      return r;
    },
    ctx.base,
  );
  const paidBeforeEnd = ids.filter((id) => (listener.paidAt.get(id) ?? Infinity) <= result.endedAt).length;
  const confirmed = ids.filter((id) => listener.paidAt.has(id)).length;
  const lastPaid = Math.max(...ids.map((id) => listener.paidAt.get(id) ?? 0));
  ctx.windows.set('confirmation, backlog drained', [result.startedAt, lastPaid]);
  const drained = confirmed === 0 ? 0 : confirmed / ((lastPaid - result.startedAt) / 1000);
  printRow(
    `backlog of ${payments.length} payments drained`,
    { rps: drained, p50: NaN, p99: NaN, cpuShare: result.cpuShare, non2xx: result.non2xx, errors: result.errors },
    busy,
  );
  console.log(
    `  ${confirmed} of ${payments.length} confirmed; ingest ${rate(result.rps)} events (p50 ${millis(result.p50)}, ` +
      `p99 ${millis(result.p99)}) in ${result.seconds.toFixed(1)} s, ${paidBeforeEnd} PAID by then; ` +
      `all PAID ${((lastPaid - result.startedAt) / 1000).toFixed(1)} s after the first event; target ≥ 1,000 payments/s`,
  );
}

/**
 * The worker alone: a backlog of whole event sequences stored first — through a second process (`api`: no worker, no
 * relay) while the measured one is stopped (SIGSTOP) — then drained once it goes on (SIGCONT). The row above times
 * intake and drain together in one process, so its rate is the slower of the two; this one is the drain's own.
 */
export async function benchHeldDrain(
  ctx: BenchContext,
  listener: Listener,
  payments: Payment[],
  opts: { secret: string; dir: string },
): Promise<void> {
  const intake = await ctx.startApiProcess!();
  try {
    const file = join(ctx.dir, 'backlog-held.json');
    writeFileSync(file, JSON.stringify(payments.flatMap((p) => p.events)));
    const ids = payments.map((p) => p.orderId);
    await quiet(ctx.fulcrumPid);
    process.kill(ctx.fulcrumPid, 'SIGSTOP');
    let stored;
    try {
      stored = await ctx.load.run({
        kind: 'cannon',
        url: intake.baseUrl,
        connections: 16,
        amount: payments.length * (payments[0]?.events.length ?? 0),
        request: { type: 'events', file, secret: opts.secret },
      });
    } finally {
      process.kill(ctx.fulcrumPid, 'SIGCONT');
    }
    const resumedAt = nowMs();
    const { busy } = await watched(ctx.fulcrumPid, () => listener.settle(ids, 30_000), ctx.base);
    const early = ids.filter((id) => (listener.paidAt.get(id) ?? Infinity) < resumedAt).length;
    const confirmed = ids.filter((id) => listener.paidAt.has(id)).length;
    const lastPaid = Math.max(...ids.map((id) => listener.paidAt.get(id) ?? 0));
    ctx.windows.set('confirmation, stored backlog drained', [resumedAt, lastPaid]);
    const drained = confirmed === 0 ? 0 : confirmed / ((lastPaid - resumedAt) / 1000);
    printRow(
      `stored backlog of ${payments.length} drained`,
      { rps: drained, p50: NaN, p99: NaN, cpuShare: stored.cpuShare, non2xx: stored.non2xx, errors: stored.errors },
      busy,
    );
    console.log(
      `  ${confirmed} of ${payments.length} confirmed, ${early} before the worker went on; stored through an \`api\` ` +
        `process at ${rate(stored.rps)} events (p50 ${millis(stored.p50)}, p99 ${millis(stored.p99)}) while this one ` +
        `was stopped; all PAID ${((lastPaid - resumedAt) / 1000).toFixed(1)} s after it went on; target ≥ 1,000 payments/s`,
    );
  } finally {
    await intake.stop();
  }
}
