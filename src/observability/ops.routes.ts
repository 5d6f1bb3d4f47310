import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { isMigrated } from '../db/migrate.ts';
import type { ModuleContext } from '../http/module-context.ts';
import type { ModuleRoutes } from '../http/routes.ts';
import type { Logger } from './logger.ts';
import { metricsAccess } from './metrics-access.ts';
import type { Metrics } from './metrics.ts';

const status = z.object({ status: z.string() });

/**
 * How long /readyz waits for the database. A server that vanished without refusing (a dropped route, a
 * blackholed port) would otherwise hold the probe for the pool's connect timeout; probes give up before that.
 */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/** `work`, or a rejection after `ms`: the probe answers in bounded time whatever the database does. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  // The check given up on may still fail later (its connection dropped): that must not be an unhandled rejection.
  work.catch(() => {});
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz, /readyz and /metrics: documented like every other route. */
export function opsModule(
  ctx: ModuleContext<{
    database: Database;
    metrics: Metrics;
    logger: Logger;
    config: Pick<Config, 'METRICS_TOKEN' | 'NODE_ENV'>;
  }>,
  isShuttingDown: () => boolean,
): void {
  const { database, metrics, logger } = ctx.deps;
  const { route } = ctx.define('');
  let migrated = false;
  /** The last answer, so a change (not every probe) is logged. */
  let wasReady: boolean | undefined;

  route(
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: 200 while the process runs',
      tags: ['operations'],
      auth: false,
      responses: { 200: { description: 'Alive', schema: status } },
    },
    (_input, _req, res) => {
      res.json({ status: 'ok' });
    },
  );

  route(
    {
      method: 'get',
      path: '/readyz',
      summary:
        'Readiness: the database answers (within 2 s) and migrations are applied; 503 otherwise and while shutting down',
      tags: ['operations'],
      auth: false,
      responses: { 200: { description: 'Ready', schema: status }, 503: { description: 'Not ready', schema: status } },
    },
    async (_input, _req, res) => {
      try {
        if (isShuttingDown()) throw new Error('shutting down');
        await within(
          READY_CHECK_TIMEOUT_MS,
          (async () => {
            await database.ping();
            migrated ||= await isMigrated(database.db);
          })(),
        );
        if (!migrated) throw new Error('migrations pending');
        if (wasReady === false) logger.info('ready again: the database answers');
        wasReady = true;
        res.json({ status: 'ready' });
      } catch (error) {
        if (wasReady !== false) logger.warn({ err: error }, 'not ready');
        wasReady = false;
        res.status(503).json({ status: 'unavailable' });
      }
    },
  );

  metricsRoute(route, metrics, ctx.deps.config);
}

function metricsRoute(
  route: ModuleRoutes['route'],
  metrics: Metrics,
  config: Pick<Config, 'METRICS_TOKEN' | 'NODE_ENV'>,
): void {
  route(
    {
      method: 'get',
      path: '/metrics',
      summary:
        'Prometheus metrics: Authorization: Bearer <METRICS_TOKEN> when set; open without it, except in production',
      tags: ['operations'],
      auth: false,
      before: [metricsAccess(config)],
      responses: {
        200: { description: 'Prometheus text format' },
        401: { description: 'unauthorized: METRICS_TOKEN is set and the request does not bear it' },
        404: { description: 'not_found: production without METRICS_TOKEN' },
      },
    },
    async (_input, _req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}
