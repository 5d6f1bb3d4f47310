import { z } from 'zod';
import type { ModuleContext } from '../app.ts';
import { isMigrated } from '../db/migrate.ts';

const status = z.object({ status: z.string() });

/** /healthz, /readyz and /metrics: documented like every other route. */
export function opsModule(ctx: ModuleContext, isShuttingDown: () => boolean): void {
  const { database, metrics } = ctx.deps;
  const { route } = ctx.define('');
  let migrated = false;

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
      summary: 'Readiness: the database answers and migrations are applied; 503 while shutting down',
      tags: ['operations'],
      auth: false,
      responses: { 200: { description: 'Ready', schema: status }, 503: { description: 'Not ready', schema: status } },
    },
    async (_input, _req, res) => {
      try {
        if (isShuttingDown()) throw new Error('shutting down');
        await database.ping();
        migrated ||= await isMigrated(database.db);
        if (!migrated) throw new Error('migrations pending');
        res.json({ status: 'ready' });
      } catch {
        res.status(503).json({ status: 'unavailable' });
      }
    },
  );

  route(
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      tags: ['operations'],
      auth: false,
      responses: { 200: { description: 'Prometheus text format' } },
    },
    async (_input, _req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}
