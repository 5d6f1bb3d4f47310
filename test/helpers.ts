import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import pg from 'pg';
import { fingerprintOf, recordIdempotentResultInline, type IdempotencyClaim } from '../src/http/idempotency.ts';
import type { OrderIdempotency } from '../src/modules/orders/orders.place.ts';
import { buildApp, type AppDeps, type BuiltApp } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type Stripe from 'stripe';
import { createTokenService } from '../src/modules/auth/index.ts';
import {
  createPaymentsRuntime,
  createStripeClient,
  type PaymentsOptions,
  type PaymentsRuntime,
} from '../src/modules/payments/index.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../src/sandbox/index.ts';
import { createLogger } from '../src/observability/logger.ts';
import { systemClock, type Clock } from '../src/shared/clock.ts';

export interface TestDatabase {
  database: Database;
  /** Closes the connections and drops the server database, if one was made. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database: PGlite in memory by default; with TEST_DATABASE_URL a new database
 * on that server, so each test file has its own and files can run in parallel.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl === undefined || serverUrl === '') {
    const database = await openDatabase({ url: 'memory://', dataDir: '' });
    await migrateToLatest(database.db);
    return { database, drop: () => database.close() };
  }
  const name = `fulcrum_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '' });
  await migrateToLatest(database.db);
  return {
    database,
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    SANDBOX_PORT: 'off',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    DATA_DIR: '/tmp/fulcrum-test-unused',
    ...env,
  });
}

export interface TestApp {
  baseUrl: string;
  built: BuiltApp;
  deps: AppDeps;
  database: Database;
  config: Config;
  /** The app's payments runtime: tests drive its worker and reconciliation by hand (processInboxOnce, reconcileOnce). */
  payments: PaymentsRuntime;
  /** With `sandbox`: the Stripe sandbox the app talks to (its webhooks go to the app) and an SDK client for it. */
  sandbox?: Sandbox;
  stripe?: Stripe;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  clock?: Clock;
  database?: Database;
  /**
   * Starts the Stripe sandbox on port 0 (sharing the app's clock, quick retries), pointed at the app's
   * webhook route, and builds the payments runtime with an SDK client for it. Background loops are not
   * started: tests call processInboxOnce / reconcileOnce.
   */
  sandbox?: boolean | SandboxOptions;
  /** Options for the payments runtime (with `sandbox`): providers to wrap, worker timings. */
  payments?: Partial<Omit<PaymentsOptions, 'db' | 'clock' | 'logger' | 'config'>>;
}

/** buildApp on port 0 over a fresh database. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const owned = options.database === undefined ? await createTestDatabase() : undefined;
  const database = options.database ?? owned!.database;
  const config = testConfig(options.env);
  const clock = options.clock ?? systemClock;
  const logger = createLogger(config.LOG_LEVEL);
  let sandbox: Sandbox | undefined;
  let stripe: Stripe | undefined;
  let payments: PaymentsRuntime | undefined;
  if (options.sandbox !== undefined && options.sandbox !== false) {
    sandbox = await startSandbox({
      port: 0,
      retryDelaysMs: [50, 100, 200, 400],
      asyncPaymentDelayMs: 50,
      sweepIntervalMs: 50,
      now: () => clock.now().getTime(),
      ...(options.sandbox === true ? {} : options.sandbox),
    });
    stripe = createStripeClient({ secretKey: 'sk_test_fulcrum', apiBase: sandbox.url, timeoutMs: 5_000 });
    payments = createPaymentsRuntime({
      db: database.db,
      clock,
      logger,
      config,
      stripe,
      webhookSecret: sandbox.webhookSecret,
      ...options.payments,
    });
  }
  const deps: AppDeps = {
    config,
    database,
    logger,
    clock,
    tokens: createTokenService(config.JWT_SECRET!, clock),
    ...(payments === undefined ? {} : { payments }),
  };
  const built = buildApp(deps);
  // PORT defaults to 0 (a free port); a test that needs PUBLIC_URL to match the server passes PORT.
  built.server.listen(config.PORT, '127.0.0.1');
  await once(built.server, 'listening');
  const { port } = built.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  sandbox?.setWebhookEndpoint(`${baseUrl}/api/v1/webhooks/stripe`);
  return {
    baseUrl,
    built,
    deps,
    database,
    config,
    payments: built.payments,
    ...(sandbox === undefined ? {} : { sandbox }),
    ...(stripe === undefined ? {} : { stripe }),
    async close() {
      await built.payments.stop();
      await sandbox?.close();
      built.server.closeAllConnections();
      await new Promise<void>((resolve) => built.server.close(() => resolve()));
      await owned?.drop();
    },
  };
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Small JSON client for tests: `call(app, 'POST', '/api/v1/x', { body, token, headers })`. */
export async function call<T = any>(
  app: { baseUrl: string },
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${app.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** A user made straight in the database (no HTTP), with an access token: for tests of other modules. */
export async function createUser(
  app: TestApp,
  role: 'customer' | 'support' | 'admin' = 'customer',
): Promise<{ id: string; email: string; token: string }> {
  const id = `usr_${randomBytes(10).toString('hex')}`;
  const email = `${id}@example.test`;
  await app.database.db
    .insertInto('users')
    .values({ id, email, name: `Test ${role}`, password_hash: 'not-a-usable-hash', role })
    .execute();
  const token = await app.deps.tokens.issueAccessToken({ id, role });
  return { id, email, token };
}

/**
 * The idempotency key of a request that died mid-way, as the middleware left it: in progress, its lease
 * over. A retry may take it over — unless the service recorded its answer inside its transaction.
 */
export async function insertDeadClaim(
  app: TestApp,
  claim: { scope: string; key: string; route: string; body: unknown; leaseId: string },
): Promise<void> {
  const now = app.deps.clock.now();
  await app.database.db
    .insertInto('idempotency_keys')
    .values({
      scope: claim.scope,
      key: claim.key,
      method: 'POST',
      route: claim.route,
      fingerprint: fingerprintOf('POST', claim.route, claim.body),
      state: 'in_progress',
      response_status: null,
      response_body: null,
      locked_until: new Date(now.getTime() - 1000),
      lease_id: claim.leaseId,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

/** Counts the statements Kysely sends (raw `sql` included): the round trips of a use case. BEGIN/COMMIT are not statements here. */
export class CountStatements implements KyselyPlugin {
  count = 0;
  /** Each statement's kind (`SelectQueryNode`, `UpdateQueryNode`, `RawNode`, …), in order. */
  kinds: string[] = [];
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count += 1;
    this.kinds.push(args.node.kind);
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

/** What a counted database sent since the last `reset`. */
export interface Counted {
  statements: number;
  transactions: number;
  reset(): void;
}

/**
 * `database` with its `db` counting statements (CountStatements) and transactions (`db.transaction()` calls): give
 * it to startTestApp (`database`) and everything the app does through it is counted, requests and workers alike.
 */
export function countingDatabase(database: Database): { database: Database; counted: Counted } {
  const plugin = new CountStatements();
  let transactions = 0;
  const inner = database.db.withPlugin(plugin);
  // Kysely keeps its state in private fields: methods are called on the real instance, not on the proxy.
  const db = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'transaction') {
        return () => {
          transactions += 1;
          return target.transaction();
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const counted: Counted = {
    get statements() {
      return plugin.count;
    },
    get transactions() {
      return transactions;
    },
    reset() {
      plugin.count = 0;
      plugin.kinds = [];
      transactions = 0;
    },
  };
  return { database: { ...database, db }, counted };
}

/**
 * placeOrder's idempotency argument for a key held by `claim` (what the order route's settle gives after its read):
 * the order statement records the 201 under it.
 */
export function orderRecordedUnder(claim: IdempotencyClaim, now = new Date()): OrderIdempotency {
  return {
    scope: claim.scope,
    key: claim.key,
    settle: () => Promise.resolve((order) => recordIdempotentResultInline(claim, 201, order, now)),
  };
}

/** Polls until `check` holds, at most `ms`; the last check's answer when the time is up. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}
