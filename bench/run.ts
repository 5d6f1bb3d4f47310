// `npm run bench` — see bench/README.md for the rows, their ceilings and the settings (bench/options.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { startSandbox } from '../src/sandbox/index.ts';
import { benchReset, benchStartup } from './basic-rows.ts';
import type { BenchContext } from './context.ts';
import { benchHttp } from './http-rows.ts';
import { call, expectStatus, startFulcrum } from './lib.ts';
import { startDbCeiling, startLoadGenerator, type LoadResult } from './load.ts';
import { formatServerSettings, SERVER_SETTINGS } from './format.ts';
import { databaseName, parseOptions, type Options } from './options.ts';
import { benchOrders } from './order-rows.ts';
import { formatProfile, readProfiles, summarizeProfile } from './profile.ts';
import { benchSoak } from './soak.ts';
import {
  benchDrain,
  benchHeldDrain,
  benchPaced,
  listenForPaid,
  preparePayments,
  type Payment,
} from './webhook-rows.ts';

const PRODUCTS = 50;
const CUSTOMERS = 64;
const ADMIN_EMAIL = 'bench-admin@example.com';
const ADMIN_PASSWORD = 'bench-admin-password';
const CUSTOMER_PASSWORD = 'bench-customer-password';
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('hex')}`;

async function freshServerDatabase(
  serverUrl: string,
): Promise<{ url: string; settings: string; drop(): Promise<void> }> {
  const name = `fulcrum_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const version = await admin.query<{ server_version: string }>('show server_version');
  const rows = await admin.query<{ name: string; setting: string; unit: string | null }>(
    'select name, setting, unit from pg_settings where name = any($1)',
    [SERVER_SETTINGS],
  );
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    settings: formatServerSettings(version.rows[0]!.server_version, rows.rows),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

const needsFulcrum = (o: Options) => [...o.rows].some((r) => r !== 'startup');

async function seed(base: string, emails: string[]): Promise<{ adminToken: string; products: string[] }> {
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
        stock: 1_000_000_000,
      },
    });
    expectStatus(res, 201, 'create product');
    products.push((res.body as { id: string }).id);
  }
  for (const [i, email] of emails.entries()) {
    const res = await call(base, 'POST', '/api/v1/auth/register', {
      body: { email, password: CUSTOMER_PASSWORD, name: `Bench ${i}` },
    });
    expectStatus(res, 201, 'register');
  }
  return { adminToken, products };
}

async function logins(base: string, emails: string[]): Promise<string[]> {
  const tokens: string[] = [];
  for (const email of emails) {
    const res = await call(base, 'POST', '/api/v1/auth/login', { body: { email, password: CUSTOMER_PASSWORD } });
    expectStatus(res, 200, 'login');
    tokens.push((res.body as { accessToken: string }).accessToken);
  }
  return tokens;
}

async function webhookRows(ctx: BenchContext, o: Options, sandboxUrl: string, stripe: Stripe): Promise<void> {
  // Each paced row's payments follow its warm-up's in the same stream (benchPaced).
  const paced = o.payments + o.warmPayments;
  const single = o.rows.has('webhooks') ? paced : 0;
  const whole = o.rows.has('sequences') ? paced : 0;
  const backlog = o.rows.has('drain') ? o.backlog : 0;
  // On PostgreSQL the drain row has a second part, the same number of payments stored first, then drained.
  const held = ctx.startApiProcess === undefined ? 0 : backlog;
  const t0 = performance.now();
  const payments: Payment[] = await preparePayments(ctx, sandboxUrl, stripe, single + whole + backlog + held);
  console.log(
    `\nWebhook → order.updated PAID on the customer's socket (${CUSTOMERS} sockets); set-up of ${payments.length} ` +
      `paid checkouts took ${((performance.now() - t0) / 1000).toFixed(0)} s; rate ${o.rate} payments/s`,
  );
  const listener = await listenForPaid(ctx);
  try {
    const common = { rate: o.rate, secret: WEBHOOK_SECRET, dir: ctx.dir, warm: o.warmPayments };
    if (single > 0) {
      await benchPaced(ctx, listener, payments.slice(0, single), {
        ...common,
        label: `one checkout.session.completed, ${o.rate}/s`,
        whole: false,
        target: 'p99 ≤ 100 ms',
      });
    }
    if (whole > 0) {
      await benchPaced(ctx, listener, payments.slice(single, single + whole), {
        ...common,
        label: `whole event sequence, ${o.rate} payments/s`,
        whole: true,
        target: 'all confirmed, p99 ≤ 250 ms',
      });
    }
    if (backlog > 0) await benchDrain(ctx, listener, payments.slice(single + whole, single + whole + backlog), common);
    if (held > 0) await benchHeldDrain(ctx, listener, payments.slice(single + whole + backlog), common);
  } finally {
    listener.close();
  }
}

function printProfiles(dir: string, windows: Map<string, [number, number]>): void {
  for (const { thread, profile } of readProfiles(dir)) {
    const which = thread === 0 ? 'the main thread' : `thread ${thread} (PGlite's, with PGLITE_THREAD)`;
    console.log(`\nWhere Fulcrum's time goes, ${which} (CPU profile, self time, the top 10 of each window; ${dir})`);
    for (const [title, [from, to]] of windows) {
      console.log(formatProfile(title, summarizeProfile(profile, { fromUs: from * 1000, toUs: to * 1000 })));
    }
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.env, process.argv.slice(2));
  const [l1, l5, l15] = loadavg().map((v) => v.toFixed(2));
  console.log(
    `npm run bench: ${databaseName(o)}, node ${process.version}, ` +
      `${availableParallelism()} cores, load average ${l1} ${l5} ${l15} (1, 5, 15 min)` +
      `${o.quick ? ', quick' : ''}; rows: ${[...o.rows].join(', ')}`,
  );
  if (o.rows.has('startup')) await benchStartup(o.starts);
  if (!needsFulcrum(o)) return;

  const serverDb = o.databaseUrl === undefined ? undefined : await freshServerDatabase(o.databaseUrl);
  if (serverDb !== undefined) console.log(serverDb.settings);
  const dir = mkdtempSync(join(tmpdir(), 'fulcrum-bench-'));
  // Kept after the run (its path is printed), for a closer look in a profile viewer.
  const profileDir = o.profile ? mkdtempSync(join(tmpdir(), 'fulcrum-bench-profile-')) : '';
  // The sandbox runs here without a webhook endpoint: the bench sends the events from its event log itself.
  const sandbox = await startSandbox({ port: 0, webhookSecret: WEBHOOK_SECRET });
  const stripe = new Stripe('sk_test_bench', {
    host: '127.0.0.1',
    port: sandbox.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const fulcrumEnv: Record<string, string> = {
    // Unset with BENCH_PGLITE_FILES: PGlite's files in DATA_DIR/pgdata, Fulcrum's default.
    ...(serverDb === undefined && o.pgliteFiles ? {} : { DATABASE_URL: serverDb?.url ?? 'memory://' }),
    DATA_DIR: join(dir, 'data'),
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
    // The password reset row names a client address per request (its per-address limit is 20 an hour).
    TRUST_PROXY: '1',
    SEED_DEMO: 'false',
  };
  const fulcrum = await startFulcrum(fulcrumEnv, o.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []);
  const load = startLoadGenerator();
  const emails = Array.from({ length: CUSTOMERS }, (_, i) => `bench-${i}-${randomUUID().slice(0, 8)}@example.com`);
  let ceilingDb: Awaited<ReturnType<typeof freshServerDatabase>> | undefined;
  try {
    const { adminToken, products } = await seed(fulcrum.baseUrl, emails);
    const tokens = await logins(fulcrum.baseUrl, emails);
    const ctx: BenchContext = {
      base: fulcrum.baseUrl,
      fulcrumPid: fulcrum.child.pid!,
      load,
      seconds: o.seconds,
      warmSeconds: Math.max(1, Math.round(o.seconds / 4)),
      quick: o.quick,
      products,
      tokens,
      customerEmails: emails,
      adminToken,
      orderLines: Math.min(o.orderLines, PRODUCTS),
      dir,
      relogin: async () => {
        tokens.splice(0, tokens.length, ...(await logins(fulcrum.baseUrl, emails)));
      },
      windows: new Map(),
      ...(serverDb === undefined
        ? {}
        : { startApiProcess: () => startFulcrum({ ...fulcrumEnv, LOG_LEVEL: 'error' }, [], 'api') }),
    };
    if (o.rows.has('catalog')) await benchHttp(ctx, o.httpRounds);
    let peak: LoadResult | undefined;
    if (o.rows.has('orders')) {
      ceilingDb = o.databaseUrl === undefined ? undefined : await freshServerDatabase(o.databaseUrl);
      const ceiling = startDbCeiling(ceilingDb?.url, o.pgliteFiles ? join(dir, 'ceiling-pgdata') : undefined);
      try {
        peak = await benchOrders(ctx, ceiling);
      } finally {
        ceiling.close();
      }
    }
    if (o.rows.has('webhooks') || o.rows.has('sequences') || o.rows.has('drain')) {
      await ctx.relogin();
      await webhookRows(ctx, o, sandbox.url, stripe);
    }
    if (o.rows.has('reset')) await benchReset(fulcrum.baseUrl, emails);
    if (o.rows.has('soak')) await benchSoak(ctx, o.soakSeconds, o.soakRate, peak);
    await fulcrum.stop();
    if (o.profile) printProfiles(profileDir, ctx.windows);
  } finally {
    load.close();
    await fulcrum.stop();
    await sandbox.close();
    await serverDb?.drop();
    await ceilingDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
