import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import cors from 'cors';
import express, { type Express, type Request, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { actorOf, createAuthenticate } from './http/authenticate.ts';
import { docsRouter, buildOpenApiDocument } from './http/openapi.ts';
import { answerClientError, errorHandler, sendProblem } from './http/problem.ts';
import { requestId } from './http/request-id.ts';
import type { ModuleContext } from './http/module-context.ts';
import { apiSecurityHeaders } from './http/api-headers.ts';
import { byBasePath } from './http/base-paths.ts';
import { defineRoutes, RouteRegistry } from './http/routes.ts';
import {
  authModule,
  createRateLimitStore,
  assertAccountActive,
  withAccountCheck,
  type LoginLimiterOptions,
  type RateLimitStore,
  type SessionControl,
  type TokenService,
} from './modules/auth/index.ts';
import { catalogModule, createCatalogCache, type CatalogCache } from './modules/catalog/index.ts';
import { createMailQueue, mailModule, shopOf, type MailQueue } from './modules/mail/index.ts';
import { createOrdersModule } from './modules/orders/index.ts';
import { createPaymentsRuntime, paymentsModule, type PaymentsRuntime } from './modules/payments/index.ts';
import { createRealtime, type Realtime } from './modules/realtime/index.ts';
import { statsModule } from './modules/stats/index.ts';
import { webhooksModule } from './modules/webhooks/index.ts';
import type { Logger } from './observability/logger.ts';
import { accessLog, markStatic } from './observability/access-log.ts';
import { opsModule } from './observability/ops.routes.ts';
import { createMetrics, measureHttp, type Metrics } from './observability/metrics.ts';
import type { Clock } from './shared/clock.ts';
import { AppError } from './shared/errors.ts';

export interface AppDeps {
  config: Config;
  database: Database;
  logger: Logger;
  clock: Clock;
  tokens: TokenService;
  metrics?: Metrics;
  /** Login brute-force limits; tests shorten the block. */
  loginLimiter?: LoginLimiterOptions;
  /** Payment providers, webhook intake, inbox worker and reconciliation; built from config when absent. */
  payments?: PaymentsRuntime;
}

/** What the app hands every module; each module's entry names the slice of `deps` it uses (http/module-context.ts). */
type AppContext = ModuleContext<
  AppDeps & {
    metrics: Metrics;
    payments: PaymentsRuntime;
    rateLimits: RateLimitStore;
    /** Closes a user's live sockets (a disabled account), on every node. */
    sessions: SessionControl;
    /** Mails written in a request's transaction, sent later by the worker (SHOP_NAME, PUBLIC_URL). */
    mail: MailQueue;
    /** Public catalog answers (Redis with REDIS_URL, else memory), dropped on admin writes. */
    catalogCache: CatalogCache;
  }
>;

export interface BuiltApp {
  app: Express;
  server: Server;
  registry: RouteRegistry;
  metrics: Metrics;
  /** Socket.IO on `server` at /socket.io; the outbox relay publishes through it. Close it before the server. */
  realtime: Realtime;
  /** The payments runtime the routes use; main.ts starts its worker and reconciliation. */
  payments: PaymentsRuntime;
  /** Rate-limit counts (Redis with REDIS_URL, else memory); its Redis connection closes with `server`. */
  rateLimits: RateLimitStore;
  /** Public catalog answers (Redis with REDIS_URL, else memory); its Redis connection closes with `server`. */
  catalogCache: CatalogCache;
  /** Readiness turns 503 and new connections are refused from here on. */
  beginShutdown(): void;
}

const webDir = fileURLToPath(new URL('../web/', import.meta.url));

const modules: ((ctx: AppContext) => void)[] = [
  authModule,
  catalogModule,
  (ctx) => createOrdersModule(ctx.deps.payments.orderHooks)(ctx),
  paymentsModule,
  webhooksModule,
  mailModule,
  statsModule,
];

export function buildApp(input: AppDeps): BuiltApp {
  const metrics = input.metrics ?? createMetrics();
  const payments =
    input.payments ??
    createPaymentsRuntime({ db: input.database.db, clock: input.clock, logger: input.logger, config: input.config });
  const { config, logger } = input;
  const rateLimits = createRateLimitStore({
    redisUrl: config.REDIS_URL,
    keyPrefix: config.RATE_LIMIT_KEY_PREFIX,
    logger,
  });
  // Closing a user's sockets needs Socket.IO, which is made after the modules: the call is forwarded to it.
  const made: { realtime?: Realtime } = {};
  const sessions: SessionControl = { disconnectUser: (userId) => made.realtime?.disconnectUser(userId) };
  // Every request and socket handshake checks that the token's account exists and is not disabled.
  const tokens = withAccountCheck(input.tokens, input.database.db);
  const mail = createMailQueue(shopOf(config));
  const catalogCache = createCatalogCache({
    redisUrl: config.REDIS_URL,
    keyPrefix: config.CATALOG_CACHE_KEY_PREFIX,
    ttlMs: config.CATALOG_CACHE_TTL_MS,
    logger,
  });
  const deps = { ...input, tokens, metrics, payments, rateLimits, sessions, mail, catalogCache };
  const registry = new RouteRegistry();
  const authenticate = {
    full: createAuthenticate((token) => deps.tokens.verifyAccessToken(token)),
    // Routes that check the account in their own first statement (accountCheckedByHandler).
    tokenOnly: createAuthenticate((token) => input.tokens.verifyAccessToken(token)),
    checkAccount: (req: Request) => assertAccountActive(input.database.db, actorOf(req).id),
  };
  const mounts: [string, Router][] = [];
  const rawBasePaths: string[] = [];
  const ctx: AppContext = {
    deps,
    define(basePath, options) {
      const routes = defineRoutes(registry, basePath, authenticate);
      mounts.push([basePath, routes.router]);
      if (options?.rawBody === true) rawBasePaths.push(basePath);
      return routes;
    },
  };
  let shuttingDown = false;
  opsModule(ctx, () => shuttingDown);
  for (const mount of modules) mount(ctx);

  const app = httpApp({ config, logger, metrics, rateLimits, registry, mounts, rawBasePaths });

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000 }, app);
  server.keepAliveTimeout = 5_000;
  // A request Node cannot parse gets a problem document too, not Node's bare text 400.
  server.on('clientError', answerClientError);
  const realtime = createRealtime(server, deps);
  made.realtime = realtime;
  // Whoever stops the app closes its server (main.ts at shutdown, tests); the limiters' and the cache's Redis go with it.
  server.once('close', () => void Promise.all([rateLimits.close(), catalogCache.close()]));
  return {
    app,
    server,
    registry,
    metrics,
    realtime,
    payments,
    rateLimits,
    catalogCache,
    beginShutdown() {
      shuttingDown = true;
      realtime.beginShutdown();
    },
  };
}

/** The Express app around the modules' routers, in the order docs/architecture.md § Modules gives. */
function httpApp(parts: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  rateLimits: RateLimitStore;
  registry: RouteRegistry;
  /** Each module's routers by base path, in definition order. */
  mounts: [string, Router][];
  /** The base paths whose routes read raw bytes (webhooks). */
  rawBasePaths: string[];
}): Express {
  const { config, logger, metrics, rateLimits, registry } = parts;
  const app = express();
  app.disable('x-powered-by');
  // Behind a reverse proxy (TRUST_PROXY), req.ip is the client's address from X-Forwarded-For; else the TCP peer's.
  app.set('trust proxy', config.TRUST_PROXY ?? false);
  // Only the API and operations routes (the registry's) are metered and go through bodies and routers.
  const routed = routedPaths(registry);
  // Every answer, pages included: a request id, a log line (debug for files), helmet's headers, CORS, the limit.
  app.use(requestId);
  app.use(accessLog(logger));
  app.use(only(routed, measureHttp(metrics)));
  // Pages get helmet's headers (product images may live on an https CDN: imageUrl); API and operations answers,
  // which are never documents, get the few that matter for them (apiSecurityHeaders).
  const pageHeaders = helmet({ contentSecurityPolicy: { directives: { 'img-src': ["'self'", 'data:', 'https:'] } } });
  app.use((req, res, next) => {
    if (!routed(req.path)) return pageHeaders(req, res, next);
    apiSecurityHeaders(res);
    next();
  });
  const crossOrigin = cors({
    origin: (origin, cb) => cb(null, origin === undefined || config.CORS_ORIGINS.includes(origin)),
    exposedHeaders: ['X-Request-Id', 'Idempotent-Replayed', 'Retry-After', 'ETag'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'If-Match', 'If-None-Match'],
    maxAge: 600,
  });
  // An API request without Origin is no browser's cross-origin call: CORS headers would tell nobody anything, but
  // a cache must still keep it apart from one with an Origin (Vary). Pages and every OPTIONS request (answered as
  // a preflight, Origin or not) keep what the cors package always gave them.
  app.use((req, res, next) => {
    if (req.headers.origin !== undefined || req.method === 'OPTIONS' || !routed(req.path)) {
      return crossOrigin(req, res, next);
    }
    res.vary('Origin');
    next();
  });
  if (config.API_RATE_LIMIT_PER_MINUTE > 0) app.use(globalRateLimit(rateLimits, config.API_RATE_LIMIT_PER_MINUTE));
  // The API and operations routes before any file: an API request never costs a file-system lookup.
  app.use(routesStack(parts, routed, registry));
  app.use(docsRouter(() => buildOpenApiDocument(registry, config.PUBLIC_URL)));
  // The storefront at `/` and the admin dashboard at `/admin`: static pages, scripts from 'self' only.
  // Its files (the demo catalog's images under /images/demo/ too) are logged at debug, not info.
  app.use(
    express.static(webDir, {
      extensions: ['html'],
      redirect: false,
      fallthrough: true,
      setHeaders: (res) => markStatic(res),
    }),
  );
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/**
 * The modules' routes: raw-body webhook routes' bytes, JSON parsing, the routers, and 404 for the rest of their
 * paths. Any other path (a page, a file, the docs) leaves the router at once.
 */
function routesStack(
  parts: { mounts: [string, Router][]; rawBasePaths: string[] },
  routed: (path: string) => boolean,
  registry: RouteRegistry,
): Router {
  // Case-sensitive as the routes are: /api/v1/Webhooks/stripe reads no body before its 404.
  const stack = express.Router({ caseSensitive: true });
  registry.routers.add(stack);
  stack.use((req, _res, next) => next(routed(req.path) ? undefined : 'router'));
  // Webhooks verify signatures over the exact bytes, so theirs are read before any JSON parsing (which then
  // finds the body read and leaves it).
  for (const path of parts.rawBasePaths) stack.use(path, express.raw({ type: () => true, limit: '1mb' }));
  stack.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));
  stack.use(byBasePath(parts.mounts));
  stack.use(notFound);
  return stack;
}

const notFound: RequestHandler = (req, res) => {
  sendProblem(req, res, new AppError('not_found', 'not_found', `No route for ${req.method} ${req.path}.`));
};

/** Whether a path is under one of the registry's first segments (`/api/…`, `/healthz`, `/readyz`, `/metrics`). */
function routedPaths(registry: RouteRegistry): (path: string) => boolean {
  const roots = new Set(registry.routes.map((r) => r.path.split('/')[1]));
  return (path) => {
    const end = path.indexOf('/', 1);
    return roots.has(end === -1 ? path.slice(1) : path.slice(1, end));
  };
}

/** `handler` for the paths `applies` names; every other request passes by untouched. */
function only(applies: (path: string) => boolean, handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (applies(req.path)) handler(req, res, next);
    else next();
  };
}

function globalRateLimit(store: RateLimitStore, perMinute: number): RequestHandler {
  // Per-address ceiling (API_RATE_LIMIT_PER_MINUTE), shared by every node with REDIS_URL; login has its own stricter limiter in the auth module.
  const limiter = store.limiter({ name: 'api', points: perMinute, duration: 60 });
  return async (req, _res, next) => {
    try {
      await limiter.consume(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      throw new AppError('rate_limited', 'rate_limited', 'Too many requests.', {
        retryAfter: rejection.msBeforeNext / 1000,
      });
    }
    next();
  };
}
