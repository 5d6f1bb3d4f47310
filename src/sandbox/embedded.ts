// The options Fulcrum's own process (src/main.ts) starts the sandbox with. Kept here, free of
// Fulcrum's imports, so that they can be tested without starting Fulcrum.
import { join } from 'node:path';
import type { SandboxOptions } from './options.ts';

export interface EmbeddedSandboxSettings {
  port: number;
  /** STRIPE_WEBHOOK_SECRET, when set. */
  webhookSecret?: string | undefined;
  /** DATABASE_URL: undefined (PGlite files in dataDir), `memory://`, or a PostgreSQL URL. */
  databaseUrl?: string | undefined;
  /** DATA_DIR. */
  dataDir: string;
}

/**
 * - The webhook endpoint is Fulcrum's own API, which listens only after the sandbox has started (and
 *   restored timers may already have fired): events are held until setWebhookEndpoint, not lost.
 * - The sandbox's sessions live as long as the database that refers to them: kept in
 *   `DATA_DIR/sandbox.json` unless the database itself is in memory (`memory://`).
 */
export function embeddedSandboxOptions(settings: EmbeddedSandboxSettings): SandboxOptions {
  return {
    port: settings.port,
    holdWebhooksUntilEndpoint: true,
    ...(settings.webhookSecret === undefined ? {} : { webhookSecret: settings.webhookSecret }),
    ...(settings.databaseUrl === 'memory://' ? {} : { dataFile: join(settings.dataDir, 'sandbox.json') }),
  };
}
