import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Providers } from './providers/index.ts';

/** What the payments services need, passed explicitly. */
export interface PaymentsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'PUBLIC_URL' | 'RECONCILE_AFTER_SECONDS' | 'RECONCILE_CHECKOUT_GRACE_SECONDS'>;
  providers: Providers;
}
