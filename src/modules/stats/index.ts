import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import { statsSchema } from './stats.schemas.ts';
import { readStats } from './stats.service.ts';

// The dashboard home's figures, read from the other modules' tables (orders, webhook inbox) and, for what
// "flagged" means, through the payments module.
export type StatsContext = ModuleContext<{ database: Database; clock: Clock }>;

/** Defines GET /api/v1/admin/stats. */
export function statsModule(ctx: StatsContext): void {
  const { database, clock } = ctx.deps;
  ctx.define('/api/v1/admin/stats').route(
    {
      method: 'get',
      path: '/',
      summary: 'The dashboard home: today’s orders and revenue, flagged payments, webhook inbox, orders per minute',
      tags: ['stats'],
      auth: true,
      responses: {
        200: { description: 'The figures', schema: statsSchema },
        403: { description: 'forbidden: not staff' },
      },
    },
    async (_input, req, res) => {
      res.json(await readStats({ db: database.db, clock }, actorOf(req)));
    },
  );
}
