// One chaos run: start the cluster, create the shop's products and customers, run the workload with faults
// and kills for `durationS`, settle, read the snapshot and check every invariant.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/db/database.ts';
import { call, field, followSocket, text, type Reply } from './client.ts';
import { createCluster, type Cluster } from './cluster.ts';
import { checkAll, type Snapshot, type Violation } from './invariants.ts';
import { createEventLog, formatEntry, type EventLog } from './log.ts';
import { faultLoop, killLoop } from './mayhem.ts';
import { createRandom, type Random } from './prng.ts';
import { settle } from './settle.ts';
import { readDatabase, readGateway, stripeClient } from './snapshot.ts';
import { adminLoop, customerLoop, latePayers, type Customer, type World } from './workload.ts';

export interface RunOptions {
  seed: number;
  durationS: number;
  /** PostgreSQL server URL (its maintenance database) for `--pg`; undefined: PGlite. */
  pgAdminUrl: string | undefined;
  redisUrl: string;
  /** Keep the run's directory (logs, data) even when it passed. */
  keep: boolean;
  /** Where a line of progress goes. */
  say: (line: string) => void;
  /** Overrides of what the seed chose (tests: a small, quick run). */
  plan?: Partial<RunPlan>;
}

export interface RunResult {
  seed: number;
  violations: Violation[];
  log: EventLog;
  workDir: string;
  summary: string;
}

const RECONCILE_INTERVAL_S = 2;

/** What this run's generator chose about its setup. */
export interface RunPlan {
  standaloneSandbox: boolean;
  customers: number;
  products: { price: number; stock: number }[];
  kills: number;
  terminations: number;
  waitForExpiry: boolean;
}

export function planRun(r: Random, pg: boolean): RunPlan {
  return {
    standaloneSandbox: r.chance(0.5),
    customers: r.int(3, 5),
    products: Array.from({ length: r.int(2, 4) }, () => ({ price: r.int(5, 80) * 100, stock: r.int(2, 6) })),
    // An `all` process on PGlite takes seconds to start again: fewer kills, or it is down for most of the run.
    kills: pg ? r.int(1, 3) : r.int(1, 2),
    terminations: pg ? r.int(1, 3) : 0,
    waitForExpiry: r.chance(0.35),
  };
}

/** Retries a set-up request (a process may still be warming up) until it answers `status`; its body. */
async function must(what: string, attempt: () => Promise<Reply>, status: number): Promise<unknown> {
  let last: Reply | undefined;
  for (let i = 0; i < 10; i++) {
    last = await attempt();
    if (last.status === status) return last.body;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: ${last?.status} ${JSON.stringify(last?.body)}`);
}

async function setUpShop(cluster: Cluster, plan: RunPlan, r: Random, runName: string, log: EventLog) {
  const base = () => r.pick(cluster.liveApis());
  const login = await must(
    'admin login',
    () => call(base(), 'POST', '/api/v1/auth/login', { body: cluster.admin }),
    200,
  );
  const adminToken = text(login, 'accessToken') ?? '';
  const products: World['products'] = [];
  for (const [i, p] of plan.products.entries()) {
    const created = await must(
      'create product',
      () =>
        call(base(), 'POST', '/api/v1/admin/products', {
          token: adminToken,
          body: {
            sku: `CHAOS-${runName}-${i}`,
            name: `Chaos ${i}`,
            price: { amount: p.price, currency: 'usd' },
            stock: p.stock,
          },
        }),
      201,
    );
    const id = text(created, 'id') ?? '';
    products.push({ id, price: p.price, stock: p.stock });
    log.add('setup', `product ${id}: ${p.price} usd, stock ${p.stock}`, [id]);
  }
  const customers: Customer[] = [];
  for (let i = 0; i < plan.customers; i++) {
    const session = await must(
      'register',
      () =>
        call(base(), 'POST', '/api/v1/auth/register', {
          body: {
            email: `c${i}@${runName.replace(/_/g, '-')}.test`,
            password: `Pw-${randomBytes(12).toString('base64url')}`,
            name: `Customer ${i}`,
          },
        }),
      201,
    );
    const userId = text(session, 'user', 'id') ?? '';
    customers.push({ index: i, userId, token: text(session, 'accessToken') ?? '', orders: [] });
    log.add('setup', `customer ${i} is ${userId}`, [userId]);
  }
  return { adminToken, products, customers };
}

/** Payments an admin sees as flagged, page by page. */
async function flaggedPayments(cluster: Cluster, adminToken: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `flagged=true&limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = await call(cluster.liveApis()[0] ?? '', 'GET', `/api/v1/admin/payments?${query}`, {
      token: adminToken,
    });
    if (page.status !== 200)
      throw new Error(`GET /admin/payments?flagged=true: ${page.status} ${JSON.stringify(page.body)}`);
    const data = field(page.body, 'data');
    for (const row of Array.isArray(data) ? (data as unknown[]) : []) {
      const id = text(row, 'id');
      if (id !== undefined) ids.push(id);
    }
    cursor = text(page.body, 'nextCursor') ?? null;
  } while (cursor !== null);
  return ids;
}

export async function runOnce(options: RunOptions): Promise<RunResult> {
  const { seed, say } = options;
  const r = createRandom(seed);
  const pg = options.pgAdminUrl !== undefined;
  const plan = { ...planRun(r.fork('plan'), pg), ...options.plan };
  const runName = `chaos_${seed.toString(16).padStart(8, '0')}_${process.pid}`;
  const workDir = join(tmpdir(), runName);
  const log = createEventLog();
  const ttlS = plan.waitForExpiry ? 60 : 3600;
  say(
    `  ${pg ? 'PostgreSQL: api ×2, worker ×2, Redis' : 'PGlite: all'}; sandbox ${plan.standaloneSandbox ? 'on its own' : 'embedded'}; ` +
      `${plan.customers} customers, ${plan.products.length} products; ${plan.kills} SIGKILLs` +
      `${pg ? `, ${plan.terminations} rounds of pg_terminate_backend` : ''}; ${plan.waitForExpiry ? 'waits for expiry (TTL 60 s)' : 'no expiry wait'}; logs in ${workDir}`,
  );
  const cluster = await createCluster({
    pgAdminUrl: options.pgAdminUrl,
    redisUrl: options.redisUrl,
    standaloneSandbox: plan.standaloneSandbox,
    runName,
    workDir,
    env: {
      ORDER_TTL_SECONDS: String(ttlS),
      RECONCILE_INTERVAL_SECONDS: String(RECONCILE_INTERVAL_S),
      RECONCILE_AFTER_SECONDS: '3',
      RECONCILE_CHECKOUT_GRACE_SECONDS: '3',
    },
  });
  const violations: Violation[] = [];
  const sockets: Customer['socket'][] = [];
  let world: World | undefined;
  let summary = '';
  try {
    await cluster.startAll();
    log.add(
      'setup',
      `started ${cluster.fulcrum.map((p) => p.name).join(', ')}${cluster.sandbox.process === undefined ? '' : ' and the sandbox'}`,
    );
    const shop = await setUpShop(cluster, plan, r.fork('setup'), runName, log);
    const socketRandom = r.fork('sockets');
    for (const c of shop.customers) {
      c.socket = followSocket(
        c.userId,
        () => c.token,
        () => cluster.liveApis(),
        (items) => socketRandom.pick(items),
        (what) => log.add('socket', what, [c.userId]),
      );
      sockets.push(c.socket);
    }
    const start = Date.now();
    const stopAt = start + options.durationS * 1000;
    world = {
      log,
      apis: () => cluster.liveApis(),
      sandboxUrl: cluster.sandbox.url,
      adminToken: shop.adminToken,
      customers: shop.customers,
      products: shop.products,
      orders: new Map(),
      sessions: new Map(),
      observations: [],
      serverErrors: [],
      stopAt,
    };
    const w = world;
    await Promise.all([
      faultLoop(log, r.fork('faults'), cluster.sandbox.url, stopAt),
      killLoop(
        log,
        r.fork('kills'),
        cluster,
        { start, stopAt },
        { kills: plan.kills, terminations: plan.terminations },
      ),
      adminLoop(w, r.fork('admin')),
      ...shop.customers.map((c) => customerLoop(w, r.fork(`customer ${c.index}`), c)),
    ]);
    log.add('settle', `workload over: ${w.orders.size} orders known`);
    const stripe = stripeClient(cluster.sandbox.url);
    const [settled] = await Promise.all([
      settle(cluster, w, log, stripe, {
        stableMs: 3 * RECONCILE_INTERVAL_S * 1000 + 4_000,
        boundMs: 120_000,
        ...(plan.waitForExpiry ? { expireUntil: stopAt + (ttlS + 15) * 1000 } : {}),
      }),
      plan.waitForExpiry ? latePayers(w, r.fork('late payers')) : Promise.resolve(),
    ]);
    violations.push(...settled);
    const gateway = await readGateway(stripe);
    const flaggedPaymentIds = await flaggedPayments(cluster, w.adminToken);
    const socketRecords = shop.customers.map((c) => ({
      userId: c.userId,
      received: [...(c.socket?.record.received ?? [])],
    }));
    for (const s of sockets) s?.close();
    await cluster.stopAll();
    const database = await openDatabase({ url: cluster.databaseUrl, dataDir: cluster.dataDir });
    let snapshot: Snapshot;
    try {
      snapshot = {
        ...(await readDatabase(database.db)),
        initialStock: Object.fromEntries(w.products.map((p) => [p.id, p.stock])),
        flaggedPaymentIds,
        gateway,
        sockets: socketRecords,
      };
    } finally {
      await database.close();
    }
    violations.push(...w.observations, ...checkAll(snapshot));
    const count = (status: string) => snapshot.orders.filter((o) => o.status === status).length;
    summary =
      `${snapshot.orders.length} orders (${['CREATED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'].map((s) => `${count(s)} ${s}`).join(', ')}), ` +
      `${snapshot.payments.length} payments, ${snapshot.refunds.length} refunds (${snapshot.refunds.filter((x) => x.status === 'FAILED').length} failed), ` +
      `${snapshot.inbox.length} webhooks, ${snapshot.outbox.length} socket events, ` +
      `${sockets.reduce((n, s) => n + (s?.reconnects ?? 0), 0)} socket reconnections` +
      (w.serverErrors.length === 0
        ? ''
        : `; ${w.serverErrors.length} 5xx answers (${[...new Set(w.serverErrors.map((e) => `${e.status} ${e.what.replace(/\/(ord|pay)_\w+/g, '/:id')}`))].join(', ')})`);
  } catch (error) {
    violations.push({
      invariant: 'run',
      message: `the run itself failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ids: [],
    });
    for (const s of sockets) s?.close();
    await cluster.stopAll().catch(() => {});
    for (const p of cluster.fulcrum) log.add('run', `${p.name} last lines:\n${p.tail(10).join('\n')}`);
  } finally {
    await cluster.destroy().catch((error: unknown) => say(`  could not drop the run's database: ${String(error)}`));
  }
  if (violations.length === 0 && !options.keep) rmSync(workDir, { recursive: true, force: true });
  else writeFileSync(join(workDir, 'events.log'), `${log.entries.map(formatEntry).join('\n')}\n`);
  return { seed, violations, log, workDir, summary };
}

/** The report of a failing run: the seed, each invariant with its ids, and the events that led there. */
export function report(result: RunResult): string {
  const lines: string[] = [];
  const byInvariant = new Map<string, Violation[]>();
  for (const v of result.violations) byInvariant.set(v.invariant, [...(byInvariant.get(v.invariant) ?? []), v]);
  lines.push(`  FAILED: seed ${result.seed} (repeat with: npm run chaos -- --seed ${result.seed} --runs 1 …)`);
  for (const [invariant, list] of byInvariant) {
    lines.push(`  ✗ ${invariant}: ${list.length} violation${list.length === 1 ? '' : 's'}`);
    for (const v of list.slice(0, 5)) {
      lines.push(`    - ${v.message}`);
      if (v.ids.length > 0) lines.push(`      ids: ${v.ids.join(' ')}`);
    }
    if (list.length > 5) lines.push(`    … and ${list.length - 5} more`);
  }
  const first = result.violations.find((v) => v.ids.length > 0);
  if (first !== undefined) {
    lines.push(`  events about ${first.ids.join(' ')} (and the faults and kills meanwhile):`);
    for (const e of result.log.about(first.ids)) lines.push(`    ${formatEntry(e)}`);
  } else {
    lines.push('  the last events:');
    for (const e of result.log.entries.slice(-40)) lines.push(`    ${formatEntry(e)}`);
  }
  lines.push(`  full event log and process logs: ${result.workDir}`);
  return lines.join('\n');
}
