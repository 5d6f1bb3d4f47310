// `npm run bench` — see bench/README.md. Options (environment):
//   BENCH_DATABASE_URL  a PostgreSQL server to create a fresh database on (default: PGlite in memory)
//   BENCH_ORDERS        orders per series in the order-placement benchmark (default 200)
//   BENCH_PAYMENTS      payments in the webhook benchmark (default 1000)
//   BENCH_RATE          webhooks per second (default 200)
//   BENCH_STARTS        start-ups in the start-up benchmark (default 3)
//   BENCH_ONLY          `startup`, `orders`, `webhooks` or `reset` to run one benchmark
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import Stripe from 'stripe';
import { startSandbox } from '../src/sandbox/index.ts';
import { atRate, call, expectStatus, ms, ratio, startFulcrum, summarize, type Summary } from './lib.ts';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 200);
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const STARTS = Number(process.env.BENCH_STARTS ?? 3);
const ONLY = process.env.BENCH_ONLY;
const PRODUCTS = 10;

const ADMIN_EMAIL = 'bench-admin@example.com';
const ADMIN_PASSWORD = 'bench-admin-password';
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('hex')}`;

function row(label: string, s: Summary, baseline?: Summary): string {
  const cells = [label.padEnd(34), ms(s.mean), ms(s.p50), ms(s.p99), ms(s.max)].map((c) => c.padStart(11));
  if (baseline !== undefined) cells.push(`p50 ${ratio(s.p50, baseline.p50)}  p99 ${ratio(s.p99, baseline.p99)}`);
  return cells.join(' ');
}
const header = ['', 'mean', 'p50', 'p99', 'max'].map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(11))).join(' ');

async function freshServerDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `fulcrum_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Runs `task` over `items` with at most `width` at a time. */
async function inParallel<T, R>(items: T[], width: number, task: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await task(items[i]!, i);
      }
    }),
  );
  return out;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** `npm start` from nothing: an empty DATA_DIR (embedded database, built-in sandbox) until /readyz says 200. */
async function benchStartup(): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < STARTS; i += 1) {
    const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-bench-start-'));
    try {
      const t0 = performance.now();
      const fulcrum = await startFulcrum({ DATA_DIR: dataDir, SANDBOX_PORT: '0' });
      samples.push(performance.now() - t0);
      await fulcrum.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log(`\nStart-up on an empty DATA_DIR, ${STARTS} times\n${header}`);
  console.log(row('spawn → /readyz 200', summarize(samples)));
}

async function main(): Promise<void> {
  if (ONLY === undefined || ONLY === 'startup') await benchStartup();
  if (ONLY === 'startup') return;
  const serverUrl = process.env.BENCH_DATABASE_URL;
  const serverDb = serverUrl === undefined || serverUrl === '' ? undefined : await freshServerDatabase(serverUrl);
  const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-bench-'));
  // The sandbox runs here, not in Fulcrum: the benchmark signs and sends the webhooks itself, so it
  // knows when each one left. Fulcrum's SDK talks to it for the checkout sessions.
  const sandbox = await startSandbox({ port: 0, webhookSecret: WEBHOOK_SECRET });
  const stripe = new Stripe('sk_test_bench', {
    host: '127.0.0.1',
    port: sandbox.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const fulcrum = await startFulcrum({
    DATABASE_URL: serverDb?.url ?? 'memory://',
    DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    SANDBOX_PORT: 'off',
    STRIPE_SECRET_KEY: 'sk_test_bench',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: sandbox.url,
    FULCRUM_ADMIN_EMAIL: ADMIN_EMAIL,
    FULCRUM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ORDER_TTL_SECONDS: '7200',
    RECONCILE_INTERVAL_SECONDS: '86400',
    RECONCILE_AFTER_SECONDS: '86400',
    // Every request comes from one address: the per-address limit would measure itself.
    API_RATE_LIMIT_PER_MINUTE: '0',
    // The password reset benchmark names a client address per request (its per-address limit is 20 an hour).
    TRUST_PROXY: '1',
  });
  const base = fulcrum.baseUrl;
  console.log(
    `Fulcrum on ${serverDb === undefined ? 'PGlite (memory)' : 'PostgreSQL'}, node ${process.version}, ` +
      `${(await import('node:os')).availableParallelism()} cores`,
  );
  try {
    const login = await call(base, 'POST', '/api/v1/auth/login', {
      body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    expectStatus(login, 200, 'admin login');
    const adminToken = (login.body as { accessToken: string }).accessToken;
    const products: string[] = [];
    for (let i = 0; i < PRODUCTS; i += 1) {
      const res = await call(base, 'POST', '/api/v1/admin/products', {
        token: adminToken,
        body: {
          sku: `BENCH-${i}-${randomUUID().slice(0, 8)}`,
          name: `Bench ${i}`,
          price: { amount: 1000 + i, currency: 'usd' },
          stock: 1_000_000,
        },
      });
      expectStatus(res, 201, 'create product');
      products.push((res.body as { id: string }).id);
    }
    const customerEmails: string[] = [];
    const customers = await inParallel(
      Array.from({ length: 20 }, (_, i) => i),
      2,
      async (i) => {
        const email = `bench-${i}-${randomUUID().slice(0, 8)}@example.com`;
        customerEmails.push(email);
        const password = 'bench-customer-password';
        expectStatus(
          await call(base, 'POST', '/api/v1/auth/register', { body: { email, password, name: `Bench ${i}` } }),
          201,
          'register',
        );
        const res = await call(base, 'POST', '/api/v1/auth/login', { body: { email, password } });
        expectStatus(res, 200, 'login');
        return (res.body as { accessToken: string }).accessToken;
      },
    );
    const order = (token: string, lines: number) =>
      call(base, 'POST', '/api/v1/orders', {
        token,
        headers: { 'idempotency-key': randomUUID() },
        body: { items: products.slice(0, lines).map((productId) => ({ productId, quantity: 1 })) },
      });

    if (ONLY === undefined || ONLY === 'orders') await benchOrders(base, customers, products, order);
    if (ONLY === undefined || ONLY === 'webhooks') await benchWebhooks(base, customers, order, stripe);
    if (ONLY === undefined || ONLY === 'reset') await benchReset(base, customerEmails);
  } finally {
    await fulcrum.stop();
    await sandbox.close();
    await serverDb?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type PlaceOrder = (token: string, lines: number) => ReturnType<typeof call>;

async function benchOrders(base: string, customers: string[], products: string[], order: PlaceOrder): Promise<void> {
  const token = customers[0]!;
  // Warm-up: JIT, plans, pools.
  for (let i = 0; i < 20; i += 1) {
    expectStatus(await order(token, 1), 201, 'warm-up order');
    expectStatus(await call(base, 'GET', `/api/v1/products/${products[0]}`), 200, 'warm-up product');
  }
  // The series are interleaved so that a drift of the machine touches all three alike.
  const lookup: number[] = [];
  const one: number[] = [];
  const ten: number[] = [];
  for (let i = 0; i < ORDERS; i += 1) {
    lookup.push(
      await timed(async () =>
        expectStatus(await call(base, 'GET', `/api/v1/products/${products[i % PRODUCTS]}`), 200, 'get product'),
      ),
    );
    one.push(await timed(async () => expectStatus(await order(token, 1), 201, 'order of 1 line')));
    ten.push(await timed(async () => expectStatus(await order(token, PRODUCTS), 201, `order of ${PRODUCTS} lines`)));
  }
  const baseline = summarize(lookup);
  console.log(`\nOrder placement: ${ORDERS} requests per series, one at a time, over HTTP`);
  console.log(`${header}  vs baseline`);
  console.log(row('GET /products/:id (baseline)', baseline));
  console.log(row('POST /orders, 1 line', summarize(one), baseline));
  console.log(row(`POST /orders, ${PRODUCTS} lines`, summarize(ten), baseline));
  console.log(`${PRODUCTS} lines vs 1 line: p50 ${ratio(summarize(ten).p50, summarize(one).p50)}`);

  // Throughput with several clients at once: orders per second against lookups per second.
  const width = 8;
  const throughput = async (fn: (i: number) => Promise<void>): Promise<number> => {
    const t0 = performance.now();
    await inParallel(
      Array.from({ length: ORDERS }, (_, i) => i),
      width,
      async (_, i) => fn(i),
    );
    return ORDERS / ((performance.now() - t0) / 1000);
  };
  const lookupsPerSecond = await throughput(async (i) =>
    expectStatus(await call(base, 'GET', `/api/v1/products/${products[i % PRODUCTS]}`), 200, 'get product'),
  );
  const ordersPerSecond = await throughput(async (i) =>
    expectStatus(await order(customers[i % customers.length]!, 1), 201, 'order'),
  );
  console.log(
    `${width} clients at once: ${lookupsPerSecond.toFixed(0)} lookups/s, ${ordersPerSecond.toFixed(0)} orders/s ` +
      `(${ratio(ordersPerSecond, lookupsPerSecond)} of the lookup rate)`,
  );
}

async function benchWebhooks(base: string, customers: string[], order: PlaceOrder, stripe: Stripe): Promise<void> {
  // Set-up, not measured: an order and a Checkout Session per payment.
  interface Prepared {
    token: string;
    orderId: string;
    session: Stripe.Checkout.Session;
  }
  const prepared = await inParallel(
    Array.from({ length: PAYMENTS }, (_, i) => i),
    4,
    async (_, i): Promise<Prepared> => {
      const token = customers[i % customers.length]!;
      const placed = await order(token, 1);
      expectStatus(placed, 201, 'order');
      const orderId = (placed.body as { id: string }).id;
      const checkout = await call(base, 'POST', `/api/v1/orders/${orderId}/checkout`, {
        token,
        headers: { 'idempotency-key': randomUUID() },
        body: {},
      });
      expectStatus(checkout, 201, 'checkout');
      const url = (checkout.body as { payment: { checkoutUrl: string } }).payment.checkoutUrl;
      const session = await stripe.checkout.sessions.retrieve(url.slice(url.lastIndexOf('/') + 1));
      return { token, orderId, session };
    },
  );

  // One socket per customer, connected before the first webhook.
  const paidAt = new Map<string, number>();
  let duplicates = 0;
  const sockets: Socket[] = await Promise.all(
    customers.map(
      (token) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = io(base, { auth: { token }, transports: ['websocket'], reconnection: false });
          socket.on('order.updated', (event: { orderId: string; status: string }) => {
            if (event.status !== 'PAID') return;
            if (paidAt.has(event.orderId)) duplicates += 1;
            else paidAt.set(event.orderId, performance.now());
          });
          socket.once('session.ready', () => resolve(socket));
          socket.once('connect_error', reject);
        }),
    ),
  );

  try {
    // Baseline at the same rate: an authenticated order lookup (one HTTP round trip, one read).
    const lookups: number[] = [];
    const lookupRate = await atRate(PAYMENTS, RATE, async (i) => {
      const p = prepared[i]!;
      lookups.push(
        await timed(async () =>
          expectStatus(await call(base, 'GET', `/api/v1/orders/${p.orderId}`, { token: p.token }), 200, 'get order'),
        ),
      );
    });

    const sentAt = new Map<string, number>();
    const acks: number[] = [];
    const webhookRate = await atRate(PAYMENTS, RATE, async (i) => {
      const p = prepared[i]!;
      const payload = JSON.stringify({
        id: `evt_bench_${randomBytes(12).toString('hex')}`,
        object: 'event',
        api_version: '2025-01-27.acacia',
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type: 'checkout.session.completed',
        data: {
          object: {
            ...p.session,
            status: 'complete',
            payment_status: 'paid',
            payment_intent: `pi_bench_${randomBytes(8).toString('hex')}`,
          },
        },
      });
      const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
      const t0 = performance.now();
      sentAt.set(p.orderId, t0);
      const res = await call(base, 'POST', '/api/v1/webhooks/stripe', {
        raw: payload,
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      });
      expectStatus(res, 200, 'webhook');
      acks.push(performance.now() - t0);
    });

    const deadline = Date.now() + 60_000;
    while (paidAt.size < PAYMENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const latencies = [...sentAt].flatMap(([orderId, t0]) => {
      const t1 = paidAt.get(orderId);
      return t1 === undefined ? [] : [t1 - t0];
    });

    const baseline = summarize(lookups);
    console.log(
      `\nWebhook → order.updated PAID at the client: ${PAYMENTS} payments, ${customers.length} sockets, ` +
        `asked ${RATE}/s; webhooks sent ${webhookRate.started.toFixed(0)}/s, answered ${webhookRate.finished.toFixed(0)}/s; ` +
        `lookups sent ${lookupRate.started.toFixed(0)}/s, answered ${lookupRate.finished.toFixed(0)}/s`,
    );
    console.log(`${header}  vs baseline`);
    console.log(row('GET /orders/:id (baseline)', baseline));
    console.log(row('webhook POST → 200', summarize(acks), baseline));
    console.log(row('webhook POST → socket PAID', summarize(latencies), baseline));
    const lastPaid = Math.max(...paidAt.values());
    const firstSent = Math.min(...sentAt.values());
    console.log(
      `received ${paidAt.size} of ${PAYMENTS} PAID updates (${duplicates} twice); ` +
        `payments confirmed end to end: ${(paidAt.size / ((lastPaid - firstSent) / 1000)).toFixed(0)}/s`,
    );
  } finally {
    for (const socket of sockets) socket.close();
  }
}

/**
 * Password reset: `POST /auth/password-reset` for addresses with an account and without, interleaved, one at a
 * time. Both are held to the same earliest answer (RESET_ANSWER_FLOOR_MS); what matters is that the two
 * distributions match, not how fast they are. Each request names its own client address (X-Forwarded-For,
 * TRUST_PROXY=1), and each known address is asked at most 5 times, so no limit answers 429.
 */
async function benchReset(base: string, emails: string[]): Promise<void> {
  const known: number[] = [];
  const unknown: number[] = [];
  const rounds = Math.min(100, emails.length * 5);
  for (let i = 0; i < rounds; i += 1) {
    for (const [email, samples] of [
      [emails[i % emails.length]!, known],
      [`nobody-${randomUUID().slice(0, 12)}@example.com`, unknown],
    ] as const) {
      const forwarded = `10.${(i >> 8) & 255}.${i & 255}.${samples === known ? 1 : 2}`;
      const took = await timed(async () =>
        expectStatus(
          await call(base, 'POST', '/api/v1/auth/password-reset', {
            body: { email },
            headers: { 'x-forwarded-for': forwarded },
          }),
          202,
          'password reset',
        ),
      );
      samples.push(took);
    }
  }
  const unknownSummary = summarize(unknown);
  console.log(`\nPassword reset, ${rounds} of each, interleaved, one at a time\n${header}`);
  console.log(row('address without an account', unknownSummary));
  console.log(row('address with an account', summarize(known), unknownSummary));
}
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
