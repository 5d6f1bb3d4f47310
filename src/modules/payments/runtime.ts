import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { startJob, type RunningJob } from '../../shared/scheduler.ts';
import type { OrderHooks } from '../orders/index.ts';
import { createInboxWorker, type InboxWorker } from '../webhooks/index.ts';
import type { PaymentsDeps, PaymentsSettings } from './deps.ts';
import { settleBeforeExpiry } from './expiry.ts';
import { handleGatewayEvent, outcomeAtIntake, paymentOfEvent, quickGatewayEvent } from './gateway-event.ts';
import { createOrderHooks } from './order-hooks.ts';
import {
  createProviders,
  createStripeClient,
  defaultProviders,
  type ProviderDefinition,
  type Providers,
} from './providers/index.ts';
import { reconcileOnce, type ReconcileReport } from './reconciliation.ts';
import type { WebhookIntake } from './stripe-webhook.routes.ts';

export interface PaymentsOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: PaymentsSettings;
  /** The SDK client; default: built from config (real Stripe with STRIPE_SECRET_KEY, else the sandbox). */
  stripe?: Stripe;
  /** Secret webhooks are signed with; default STRIPE_WEBHOOK_SECRET. */
  webhookSecret?: string;
  /**
   * The providers this runtime offers, built at start-up and passed to everything that needs one (the schemas,
   * checkout, the inbox worker, reconciliation, refunds); default: Stripe and manual (`defaultProviders`).
   */
  providers?: readonly ProviderDefinition[];
  /** Wraps the providers (tests count or fail gateway calls). */
  wrapProviders?: (providers: Providers) => Providers;
  worker?: {
    leaseMs?: number;
    pollMs?: number;
    batchSize?: number;
    backoffMs?: (attempts: number) => number;
    concurrency?: number;
  };
}

export interface PaymentsRuntime {
  deps: PaymentsDeps;
  /** For the webhook route (signature checks) and the inbox admin routes (a worker to wake). */
  webhooks: WebhookIntake;
  /** For the orders module: payment views, payment status, refund on cancelling a PAID order, expiry. */
  orderHooks: OrderHooks;
  inbox: InboxWorker;
  /** One reconciliation run now; null when another node holds it. */
  reconcileOnce(): Promise<ReconcileReport | null>;
  /** Before an unpaid order is cancelled for expiry: close its checkout at the gateway, or learn it was paid. */
  settleBeforeExpiry(orderId: string): Promise<'cancel' | 'keep'>;
  /** Starts the inbox worker and the reconciliation job (worker processes). */
  start(options?: { reconcileIntervalMs?: number }): void;
  stop(): Promise<void>;
}

/** The reconciliation lease's length: one interval, at most five minutes, at least a second. */
export function reconcileLeaseMs(intervalMs: number): number {
  return Math.min(5 * 60_000, Math.max(1_000, intervalMs));
}

/** The Stripe client Fulcrum uses when none is given: real Stripe with a key, else the sandbox. */
export function stripeFromConfig(
  config: Pick<PaymentsSettings, 'STRIPE_SECRET_KEY' | 'STRIPE_API_BASE' | 'SANDBOX_PORT'>,
  sandboxUrl?: string,
): Stripe {
  const hasKey = config.STRIPE_SECRET_KEY !== undefined;
  const apiBase =
    config.STRIPE_API_BASE ?? sandboxUrl ?? (hasKey ? undefined : `http://127.0.0.1:${config.SANDBOX_PORT ?? 12111}`);
  return createStripeClient({ secretKey: config.STRIPE_SECRET_KEY ?? 'sk_test_fulcrum_sandbox', apiBase });
}

export function createPaymentsRuntime(options: PaymentsOptions): PaymentsRuntime {
  const { db, clock, logger, config } = options;
  const stripe = options.stripe ?? stripeFromConfig(config);
  const secret = options.webhookSecret ?? config.STRIPE_WEBHOOK_SECRET;
  const providers = (options.wrapProviders ?? ((p: Providers) => p))(
    createProviders({ stripe, webhookSecret: secret, clock }, options.providers ?? defaultProviders),
  );
  const deps: PaymentsDeps = { db, clock, logger, config, providers };

  const inbox = createInboxWorker({
    db,
    clock,
    logger,
    handle: (trx, row, after, chunk) => handleGatewayEvent(deps, trx, row, after, chunk),
    quick: (db, row, finish) => quickGatewayEvent(deps, db, row, finish),
    laneOf: (row) => paymentOfEvent(deps, row),
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    ...(config.WEBHOOK_WORKER_BATCH_SIZE === undefined ? {} : { batchSize: config.WEBHOOK_WORKER_BATCH_SIZE }),
    ...(config.WEBHOOK_WORKER_CONCURRENCY === undefined ? {} : { concurrency: config.WEBHOOK_WORKER_CONCURRENCY }),
    ...options.worker,
  });

  const holder = randomUUID();
  // The lease is renewed while a run lasts, so it need not cover a whole run; no longer than one interval, so a
  // process that restarts after a crash finds the dead holder's lease over by its first tick.
  let reconcileIntervalMs = config.RECONCILE_INTERVAL_SECONDS * 1000;
  const runReconcile = () =>
    reconcileOnce(deps, { holder, leaseMs: reconcileLeaseMs(reconcileIntervalMs), onStored: () => inbox.wake() });
  let job: RunningJob | undefined;

  if (secret === undefined) logger.warn('no webhook secret: every Stripe webhook will be refused (400)');

  return {
    deps,
    webhooks: {
      verify(provider, raw, signature) {
        const verify = Object.hasOwn(providers, provider) ? providers[provider]?.verifyWebhook : undefined;
        if (verify === undefined) throw new Error(`provider ${provider} takes no webhooks`);
        return verify(raw, signature);
      },
      outcomeAtIntake(provider, event) {
        const translate = Object.hasOwn(providers, provider) ? providers[provider]?.translateEvent : undefined;
        return translate === undefined ? undefined : outcomeAtIntake(translate, event);
      },
      onStored: () => inbox.wake(),
    },
    orderHooks: createOrderHooks(deps),
    inbox,
    reconcileOnce: runReconcile,
    settleBeforeExpiry: (orderId) => settleBeforeExpiry(deps, orderId),
    start(startOptions = {}) {
      inbox.start();
      reconcileIntervalMs = startOptions.reconcileIntervalMs ?? reconcileIntervalMs;
      job ??= startJob({
        name: 'payments.reconcile',
        intervalMs: reconcileIntervalMs,
        run: runReconcile,
        logger,
      });
    },
    async stop() {
      await Promise.all([inbox.stop(), job?.stop()]);
      job = undefined;
    },
  };
}
