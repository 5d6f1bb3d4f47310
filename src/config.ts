import { z } from 'zod';

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL (${protocols.join(' or ')})`,
  );

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: intIn(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .union([z.literal('memory://'), url(['postgres:', 'postgresql:'])], {
      error: 'must be a postgres:// URL or memory://',
    })
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  /** Prefix of the rate-limit keys in Redis, so deployments (or test runs) sharing one Redis keep apart. */
  RATE_LIMIT_KEY_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, 'must be 1–64 letters, digits, _ : . or -')
    .default('fulcrum:rl'),
  /** How long a public catalog answer may be served from the cache (Redis with REDIS_URL, else memory); 0: no cache. */
  CATALOG_CACHE_TTL_MS: intIn(0, 1000).default(500),
  /** Prefix of the catalog cache's keys in Redis, like RATE_LIMIT_KEY_PREFIX. */
  CATALOG_CACHE_KEY_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, 'must be 1–64 letters, digits, _ : . or -')
    .default('fulcrum:catalog'),
  /** Requests per minute one address may make (all routes; login has its own, stricter limiter); 0: no limit. */
  API_RATE_LIMIT_PER_MINUTE: intIn(0, 10_000_000).default(3000),
  AMQP_URL: url(['amqp:', 'amqps:']).optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 bytes').optional(),
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_ or rk_…')
    .optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_/, 'must start with whsec_')
    .optional(),
  STRIPE_API_BASE: url(['http:', 'https:']).optional(),
  SANDBOX_PORT: z
    .union([z.literal('off'), intIn(0, 65535)], { error: 'must be a port number (0 to 65535) or off' })
    .default(12111)
    .transform((v) => (v === 'off' ? null : v)),
  PUBLIC_URL: url(['http:', 'https:']).optional(),
  CORS_ORIGINS: z.string().default(''),
  ORDER_TTL_SECONDS: intIn(60, 7 * 24 * 3600).default(1800),
  RECONCILE_INTERVAL_SECONDS: intIn(1, 86400).default(60),
  RECONCILE_AFTER_SECONDS: intIn(1, 7 * 86400).default(300),
  /** How long a PENDING payment may wait for its checkout session (phase 2) before reconciliation opens it. */
  RECONCILE_CHECKOUT_GRACE_SECONDS: intIn(1, 3600).default(30),
  WEBHOOK_MAX_ATTEMPTS: intIn(1, 100).default(8),
  /** Webhook inbox rows the worker claims at once (one statement) and applies in few transactions. */
  WEBHOOK_WORKER_BATCH_SIZE: intIn(1, 1000).default(100),
  /**
   * Lanes the inbox worker queues claimed rows in, each applying its rows a transaction at a time on a connection of
   * its own. Unset: 8 on a PostgreSQL server, 1 on PGlite (one connection: more lanes would only queue).
   */
  WEBHOOK_WORKER_CONCURRENCY: intIn(1, 16).optional(),
  /**
   * The outbox relay's passes start at least this many ms apart, so that commits coming faster are sent in one pass
   * (two statements) instead of one pass each. Unset: 25 on PGlite (one connection that requests share), 0 on a
   * PostgreSQL server.
   */
  OUTBOX_RELAY_MIN_INTERVAL_MS: intIn(0, 1000).optional(),
  FULCRUM_ADMIN_EMAIL: z.email('must be an e-mail address').optional(),
  FULCRUM_ADMIN_PASSWORD: z.string().min(12, 'must be 12–128 characters').max(128).optional(),
  /**
   * How far back a reconnecting socket can replay (`lastEventId`): published outbox rows older than this are
   * pruned, and a socket asking for pruned events is sent `resync`.
   */
  REALTIME_REPLAY_WINDOW_HOURS: intIn(1, 24 * 366).default(7 * 24),
  /**
   * Processed webhook inbox rows older than this are pruned (pending, failed and dead rows are kept). Stripe
   * redelivers an event for up to three days, and the row is what makes a redelivery a duplicate: at least 7.
   */
  WEBHOOK_INBOX_RETENTION_DAYS: intIn(7, 3650).default(30),
  /**
   * Proxies in front of the API whose X-Forwarded-For is believed (rate limits are per client address): a hop
   * count (`1`: one reverse proxy) or a comma-separated list of addresses, CIDRs, `loopback`, `linklocal`,
   * `uniquelocal`. Unset: nobody's, the TCP peer is the client.
   */
  TRUST_PROXY: z
    .string()
    .regex(
      /^(\d{1,2}|(loopback|linklocal|uniquelocal|[\da-fA-F.:]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[\da-fA-F.:]+(\/\d{1,3})?))*)$/,
      'must be a hop count or a comma-separated list of addresses, CIDRs, loopback, linklocal or uniquelocal',
    )
    .transform((v) => (/^\d+$/.test(v) ? Number(v) : v.split(',').map((p) => p.trim())))
    .optional(),
  /**
   * The bearer token /metrics asks for (`Authorization: Bearer <METRICS_TOKEN>`). Unset: /metrics is open outside
   * production and absent (404) in production.
   */
  METRICS_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9._~+/=-]{32,512}$/, 'must be 32–512 characters of letters, digits and . _ ~ + / = -')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: readable lines when stdout is a terminal, JSON lines otherwise; pretty or json force one. */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json'], { error: 'must be auto, pretty or json' }).default('auto'),
  /** Outside production, an empty catalog gets the demo products once at start; false turns it off. */
  /** PostgreSQL server: repeated statements go by name, parsed and planned once per connection (src/db/prepared.ts). */
  DATABASE_PREPARED_STATEMENTS: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  /** PGlite (no DATABASE_URL, or memory://): on a worker thread of its own (src/db/pglite-thread.ts); false: in process. */
  PGLITE_THREAD: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  /** PostgreSQL server: connections this process keeps at most (requests, the webhook worker's lanes, the relay). */
  DATABASE_POOL_SIZE: intIn(2, 200).default(20),
  SEED_DEMO: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  SHUTDOWN_TIMEOUT_MS: intIn(100, 600_000).default(10_000),
  /** The shop's name in mails (subjects, greetings, the sender's name). */
  SHOP_NAME: z.string().trim().min(1).max(100).default('Fulcrum'),
  /** Mails go through this SMTP server (nodemailer). Unset: they are kept by Fulcrum, readable in the dashboard. */
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  /** off: mail is never delivered (kept by Fulcrum, even with SMTP_URL); production needs SMTP_URL or this. */
  MAIL: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  /** The From of every mail; unset: `"<SHOP_NAME>" <no-reply@<PUBLIC_URL's host>>`. */
  MAIL_FROM: z.string().trim().min(3).max(320).optional(),
  /** true: checkout answers 403 email_not_verified until the customer verified the account's e-mail address. */
  REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
});

/** Every variable the configuration reads: the deploy files may set no other (test/deploy.test.ts checks). */
export const configVariables: readonly string[] = Object.freeze(Object.keys(schema.shape));

type Parsed = z.infer<typeof schema>;

export type Config = Readonly<
  Omit<Parsed, 'CORS_ORIGINS' | 'PUBLIC_URL'> & {
    PUBLIC_URL: string;
    CORS_ORIGINS: readonly string[];
  }
>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A PUBLIC_URL on this machine only (a demo): the one place production accepts http. */
function isLoopbackUrl(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * What NODE_ENV=production refuses to start with (docs/configuration.md § Checks across variables): settings that
 * are fine on a laptop and unsafe in front of customers. One line each.
 */
function productionProblems(c: z.infer<typeof schema>): string[] {
  const problems: string[] = [];
  if (c.JWT_SECRET === undefined) {
    problems.push('config: JWT_SECRET is required when NODE_ENV=production (at least 32 bytes)');
  }
  if (c.DATABASE_URL === 'memory://') {
    problems.push(
      'config: DATABASE_URL=memory:// loses every order at restart; NODE_ENV=production needs postgres:// or unset (DATA_DIR)',
    );
  }
  if (c.STRIPE_SECRET_KEY === undefined && c.STRIPE_API_BASE === undefined && c.SANDBOX_PORT !== null) {
    problems.push(
      'config: the built-in Stripe sandbox would start with NODE_ENV=production (it takes any card and its controls have no authentication): set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or SANDBOX_PORT=off',
    );
  }
  const publicUrl = c.PUBLIC_URL === undefined ? undefined : new URL(c.PUBLIC_URL);
  if (publicUrl === undefined || (publicUrl.protocol !== 'https:' && !isLoopbackUrl(publicUrl))) {
    problems.push(
      `config: PUBLIC_URL must be an https:// URL when NODE_ENV=production (it is ${c.PUBLIC_URL ?? 'unset'}); http:// is accepted only on a loopback host`,
    );
  }
  if (c.SMTP_URL === undefined && c.MAIL !== 'off') {
    problems.push(
      'config: SMTP_URL is required when NODE_ENV=production (customers would get no mail); set MAIL=off to run without mail on purpose',
    );
  }
  return problems;
}

/** Parses the environment once; every problem becomes one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(`config: ${issue.path.join('.')} ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const c = result.data;
  if (c.NODE_ENV === 'production') problems.push(...productionProblems(c));
  if ((c.FULCRUM_ADMIN_EMAIL === undefined) !== (c.FULCRUM_ADMIN_PASSWORD === undefined)) {
    problems.push('config: FULCRUM_ADMIN_EMAIL and FULCRUM_ADMIN_PASSWORD must be set together');
  }
  if (c.STRIPE_SECRET_KEY !== undefined && c.STRIPE_WEBHOOK_SECRET === undefined) {
    problems.push('config: STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const origins = c.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  // Without PUBLIC_URL, the address this machine reaches the server on: a wildcard bind answers on loopback,
  // and an IPv6 literal is bracketed in a URL.
  const reachable = c.HOST === '0.0.0.0' || c.HOST === '::' ? '127.0.0.1' : c.HOST;
  const host = reachable.includes(':') ? `[${reachable}]` : reachable;
  return Object.freeze({
    ...c,
    PUBLIC_URL: (c.PUBLIC_URL ?? `http://${host}:${c.PORT}`).replace(/\/+$/, ''),
    CORS_ORIGINS: Object.freeze(origins),
  });
}
