import type { Kysely } from 'kysely';
import * as m0001 from './0001_users.ts';
import * as m0002 from './0002_catalog_orders.ts';
import * as m0003 from './0003_payments.ts';
import * as m0004 from './0004_outbox_relay.ts';
import * as m0005 from './0005_orders_user_status.ts';
import * as m0006 from './0006_payments_provider_registry.ts';
import * as m0007 from './0007_payments_held_money.ts';
import * as m0008 from './0008_webhook_inbox_notify.ts';
import * as m0009 from './0009_product_image.ts';
import * as m0010 from './0010_users_disabled.ts';
import * as m0011 from './0011_order_version.ts';
import * as m0012 from './0012_accounts_mail.ts';
import * as m0013 from './0013_product_images.ts';
import * as m0014 from './0014_require_function.ts';
import * as m0015 from './0015_outbox_event_id_at_publish.ts';
import * as m0016 from './0016_notify_after_commit.ts';
import * as m0017 from './0017_inbox_claim_function.ts';

interface MigrationModule {
  up(db: Kysely<unknown>): Promise<void>;
  down?(db: Kysely<unknown>): Promise<void>;
}

// Numbered, applied in name order; a landed migration is never edited.
export const migrations: Record<string, MigrationModule> = {
  '0001_users': m0001,
  '0002_catalog_orders': m0002,
  '0003_payments': m0003,
  '0004_outbox_relay': m0004,
  '0005_orders_user_status': m0005,
  '0006_payments_provider_registry': m0006,
  '0007_payments_held_money': m0007,
  '0008_webhook_inbox_notify': m0008,
  '0009_product_image': m0009,
  '0010_users_disabled': m0010,
  '0011_order_version': m0011,
  '0012_accounts_mail': m0012,
  '0013_product_images': m0013,
  '0014_require_function': m0014,
  '0015_outbox_event_id_at_publish': m0015,
  '0016_notify_after_commit': m0016,
  '0017_inbox_claim_function': m0017,
};
