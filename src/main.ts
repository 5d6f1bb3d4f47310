import './require-node.ts';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { DataDirLockedError, openDatabase, type Database } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { startWorkerJobs } from './modules/jobs/index.ts';
import { createMailQueue, keptTransport, mailFromOf, shopOf, smtpTransport } from './modules/mail/index.ts';
import { createTokenService, ensureAdmin, issueSetupToken, resolveJwtSecret } from './modules/auth/index.ts';
import { seedDemoCatalog } from './modules/catalog/index.ts';
import { renderBanner } from './banner.ts';
import { createAmqpPublisher } from './modules/events-out/index.ts';
import {
  createPaymentsRuntime,
  releaseReconcileLease,
  stripeFromConfig,
  type PaymentsRuntime,
} from './modules/payments/index.ts';
import { createBroadcaster, startOutboxRelay, type Realtime } from './modules/realtime/index.ts';
import { releaseInboxLeases, wakeInboxWorker } from './modules/webhooks/index.ts';
import { releaseIdempotencyLeases } from './http/idempotency.ts';
import { createLogger, writeThrough, type Logger } from './observability/logger.ts';
import { systemClock } from './shared/clock.ts';
import { embeddedSandboxOptions, startSandbox, type Sandbox } from './sandbox/index.ts';
import { installShutdown, type Stopper } from './shutdown.ts';

type Mode = 'api' | 'worker' | 'all' | 'migrate';
const modes: readonly Mode[] = ['api', 'worker', 'all', 'migrate'];

async function main(): Promise<void> {
  const mode = (process.argv[2] ?? 'all') as Mode;
  if (!modes.includes(mode)) {
    console.error(`usage: node src/main.ts ${modes.join('|')}`);
    process.exit(2);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) console.error(line);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL, { format: config.LOG_FORMAT });
  const database = await openDatabaseOrExit(config, logger);
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  if (mode === 'migrate') {
    await database.close();
    return;
  }
  if (database.kind === 'pglite') await releaseDeadLeases(database, logger);
  const stoppers: Stopper[] = [() => database.close()];
  const shutdown = installShutdown(config, logger, stoppers, database.lost);
  const payments = await startPayments(mode, config, database, logger, stoppers);
  if (mode === 'worker' || mode === 'all') startWorker(config, database, logger, stoppers, payments.runtime);
  const api =
    mode === 'api' || mode === 'all'
      ? await startApi(config, database, logger, stoppers, shutdown, payments)
      : undefined;
  startRealtime(mode, config, database, logger, stoppers, api?.realtime);
  logger.info({ mode }, 'fulcrum started');
  // Last, so the links (and the first admin's setup link) are not scrolled away by start-up lines.
  if (api !== undefined) writeThrough(logger, api.banner);
}

/**
 * On PGlite this process holds DATA_DIR alone (its lock file), so every lease in the database belongs to a process
 * that died without releasing it (SIGKILL, a crash): ended now, so retried requests, claimed webhook events and
 * reconciliation go on at once rather than when those leases would have run out. (On PostgreSQL other live
 * processes may hold leases; there a dead holder's lease runs out: a minute, or one reconciliation interval.)
 */
async function releaseDeadLeases(database: Database, logger: Logger): Promise<void> {
  const now = systemClock.now();
  const released = {
    idempotencyKeys: await releaseIdempotencyLeases(database.db, now),
    inboxEvents: await releaseInboxLeases(database.db, now),
    reconciliation: await releaseReconcileLease(database.db, now),
  };
  if (released.idempotencyKeys > 0 || released.inboxEvents > 0 || released.reconciliation) {
    logger.warn({ released }, 'leases left by a previous process ended');
  }
}

/** A DATA_DIR held by another process stops this one with one line and exit code 1. */
async function openDatabaseOrExit(config: Config, logger: Logger): Promise<Database> {
  try {
    return await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
      poolSize: config.DATABASE_POOL_SIZE,
      checkpoints: { onError: (err) => logger.warn({ err }, 'PGlite checkpoint failed; the next check tries again') },
      vacuum: { onError: (err) => logger.warn({ err }, 'PGlite vacuum failed; the next check tries again') },
      thread: config.PGLITE_THREAD,
    });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

async function startApi(
  config: Config,
  database: Database,
  logger: Logger,
  stoppers: Stopper[],
  shutdown: { onBegin(fn: () => void): void },
  payments: Payments,
): Promise<{ realtime: Realtime; banner: string }> {
  const seed = await seedDemoCatalog({
    db: database.db,
    clock: systemClock,
    nodeEnv: config.NODE_ENV,
    enabled: config.SEED_DEMO,
  });
  if (seed.seeded) logger.info({ products: seed.count }, 'demo catalog seeded (SEED_DEMO=false turns this off)');
  if (config.FULCRUM_ADMIN_EMAIL !== undefined && config.FULCRUM_ADMIN_PASSWORD !== undefined) {
    const { created, user } = await ensureAdmin(database.db, config.FULCRUM_ADMIN_EMAIL, config.FULCRUM_ADMIN_PASSWORD);
    if (created) logger.info({ userId: user.id }, 'first admin created from FULCRUM_ADMIN_EMAIL');
    else if (user.role !== 'admin')
      logger.warn({ userId: user.id }, 'FULCRUM_ADMIN_EMAIL has a non-admin account: left unchanged');
  }
  // While no admin exists: a one-time token for the first admin, shown in the banner only.
  const setup = await issueSetupToken(database.db, systemClock);
  const tokens = createTokenService(await resolveJwtSecret(config), systemClock);
  const built = buildApp({ config, database, logger, clock: systemClock, tokens, payments: payments.runtime });
  built.server.listen(config.PORT, config.HOST);
  await once(built.server, 'listening');
  const address = built.server.address() as AddressInfo;
  logger.info({ url: `http://${address.address}:${address.port}` }, 'listening');
  payments.listening(address.port);
  const banner = renderBanner({
    // PUBLIC_URL, unless it was derived from PORT=0 (a free port): then the port actually taken.
    baseUrl: config.PORT === 0 ? `http://${loopbackHost(config.HOST)}:${address.port}` : config.PUBLIC_URL,
    sandboxUrl: payments.sandboxUrl,
    testMode: payments.sandboxUrl !== undefined || (config.STRIPE_SECRET_KEY?.includes('_test_') ?? false),
    setup,
    color: process.stdout.isTTY && (process.env.NO_COLOR ?? '') === '',
  });
  shutdown.onBegin(() => built.beginShutdown());
  stoppers.push(
    () =>
      new Promise<void>((resolve) => {
        built.server.close(() => resolve());
        built.server.closeIdleConnections();
      }),
  );
  return { realtime: built.realtime, banner };
}

/** A wildcard bind address is reached through loopback; an IPv6 literal goes in brackets. */
function loopbackHost(host: string): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return reachable.includes(':') ? `[${reachable}]` : reachable;
}

/**
 * Sockets are closed before the HTTP server (stoppers run in reverse). The outbox relay runs where the
 * jobs run (`worker`, `all`); it reaches other processes' sockets through Redis, so a split deployment needs REDIS_URL.
 */
function startRealtime(
  mode: Mode,
  config: Config,
  database: Database,
  logger: Logger,
  stoppers: Stopper[],
  realtime: Realtime | undefined,
): void {
  if (realtime !== undefined) stoppers.push(() => realtime.close());
  if (mode !== 'worker' && mode !== 'all') {
    if (config.REDIS_URL === undefined)
      logger.warn('api without REDIS_URL: a separate worker cannot reach these sockets; run `all` or set REDIS_URL');
    return;
  }
  const broadcaster = realtime === undefined ? createBroadcaster(config.REDIS_URL, logger) : undefined;
  const amqp = config.AMQP_URL === undefined ? undefined : createAmqpPublisher({ url: config.AMQP_URL, logger });
  const relay = startOutboxRelay({
    database,
    logger,
    clock: systemClock,
    publishToSockets: (events, staff) => (realtime ?? broadcaster)?.publish(events, staff),
    ...(amqp === undefined ? {} : { amqp }),
    minIntervalMs: config.OUTBOX_RELAY_MIN_INTERVAL_MS ?? (database.kind === 'postgres' ? 0 : 25),
  });
  stoppers.push(async () => {
    await relay.stop();
    await amqp?.close();
    await broadcaster?.close();
  });
}

/** Periodic jobs (order expiry, retention); stopped after in-flight ticks finish. */
function startWorker(
  config: Config,
  database: Database,
  logger: Logger,
  stoppers: Stopper[],
  payments: PaymentsRuntime,
): void {
  // SMTP_URL: through that server; unset, or MAIL=off: kept by Fulcrum, read by admins in the dashboard.
  const transport =
    config.SMTP_URL === undefined || config.MAIL === 'off' ? keptTransport : smtpTransport(config.SMTP_URL);
  logger.info(
    { mail: transport.kind },
    transport.kind === 'smtp'
      ? 'mail goes through SMTP_URL'
      : 'mail is kept, not delivered (no SMTP_URL, or MAIL=off): admins read it in the dashboard',
  );
  const worker = startWorkerJobs({
    db: database.db,
    clock: systemClock,
    logger,
    orderHooks: payments.orderHooks,
    retention: {
      replayWindowMs: config.REALTIME_REPLAY_WINDOW_HOURS * 3600_000,
      inboxRetentionMs: config.WEBHOOK_INBOX_RETENTION_DAYS * 86_400_000,
      amqp: config.AMQP_URL !== undefined,
      mail: true,
    },
    mail: { queue: createMailQueue(shopOf(config)), transport, from: mailFromOf(config) },
  });
  stoppers.push(() => Promise.resolve(transport.close()));
  stoppers.push(() => worker.stop());
  // The webhook inbox worker and reconciliation run where the jobs run.
  payments.start();
  stoppers.push(() => payments.stop());
  // On a server, webhooks stored by another process wake this worker by NOTIFY.
  stoppers.push(wakeInboxWorker(database, logger, () => payments.inbox.wake()));
}

interface Payments {
  runtime: PaymentsRuntime;
  /** The in-process Stripe sandbox's address, when it runs. */
  sandboxUrl: string | undefined;
  /** The API listens on `port`: the in-process sandbox posts its webhooks there. */
  listening(port: number): void;
}

/**
 * The payments runtime, and the Stripe sandbox when no real Stripe is configured (no STRIPE_SECRET_KEY,
 * no STRIPE_API_BASE, SANDBOX_PORT not `off`). The sandbox runs in the API's process (`api`, `all`); a
 * separate `worker` reaches it at SANDBOX_PORT.
 */
async function startPayments(
  mode: Mode,
  config: Config,
  database: Database,
  logger: Logger,
  stoppers: Stopper[],
): Promise<Payments> {
  const wantsSandbox =
    (mode === 'api' || mode === 'all') &&
    config.STRIPE_SECRET_KEY === undefined &&
    config.STRIPE_API_BASE === undefined &&
    config.SANDBOX_PORT !== null;
  let sandbox: Sandbox | undefined;
  if (wantsSandbox) {
    // Kept in DATA_DIR/sandbox.json unless DATABASE_URL is memory://; events made before listening()
    // sets the endpoint (restored timers firing at start-up) are held for it.
    sandbox = await startSandbox(
      embeddedSandboxOptions({
        port: config.SANDBOX_PORT ?? 12111,
        webhookSecret: config.STRIPE_WEBHOOK_SECRET,
        databaseUrl: config.DATABASE_URL,
        dataDir: config.DATA_DIR,
      }),
    );
    stoppers.push(() => sandbox!.close());
    logger.info({ url: sandbox.url }, 'Stripe sandbox listening');
  }
  const runtime = createPaymentsRuntime({
    db: database.db,
    clock: systemClock,
    logger,
    config,
    stripe: stripeFromConfig(config, sandbox?.url),
    ...(sandbox === undefined ? {} : { webhookSecret: sandbox.webhookSecret }),
    // A server's pool runs several lanes at once (8 of its 20 connections by default, the rest left to requests);
    // PGlite's one connection would only queue them.
    worker: { concurrency: config.WEBHOOK_WORKER_CONCURRENCY ?? (database.kind === 'postgres' ? 8 : 1) },
  });
  return {
    runtime,
    sandboxUrl: sandbox?.url,
    listening(port) {
      sandbox?.setWebhookEndpoint(`http://${loopbackHost(config.HOST)}:${port}/api/v1/webhooks/stripe`);
    },
  };
}

await main();
