import type { Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Providers } from './providers/index.ts';

/** The settings payments reads (src/config.ts names them; they are passed in, never imported). */
export interface PaymentsSettings {
  readonly PUBLIC_URL: string;
  readonly RECONCILE_AFTER_SECONDS: number;
  readonly RECONCILE_CHECKOUT_GRACE_SECONDS: number;
  readonly RECONCILE_INTERVAL_SECONDS: number;
  readonly WEBHOOK_MAX_ATTEMPTS: number;
  /** The inbox worker's claim size and lanes; absent in a test config: the worker's defaults. */
  readonly WEBHOOK_WORKER_BATCH_SIZE?: number;
  readonly WEBHOOK_WORKER_CONCURRENCY?: number | undefined;
  readonly STRIPE_SECRET_KEY?: string | undefined;
  readonly STRIPE_WEBHOOK_SECRET?: string | undefined;
  readonly STRIPE_API_BASE?: string | undefined;
  readonly SANDBOX_PORT?: number | null | undefined;
}

/** What the payments services need, passed explicitly. */
export interface PaymentsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: Pick<PaymentsSettings, 'PUBLIC_URL' | 'RECONCILE_AFTER_SECONDS' | 'RECONCILE_CHECKOUT_GRACE_SECONDS'>;
  providers: Providers;
}
