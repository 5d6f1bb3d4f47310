import { z } from 'zod';
import { moneySchema } from '../../shared/money.ts';

export const statsSchema = z.object({
  /** When the figures were read. */
  at: z.string(),
  today: z.object({
    /** The start of the current day in UTC. */
    since: z.string(),
    orders: z.number().int(),
    /** Per currency: the totals of today's orders that were paid, less what was refunded of them. */
    revenue: z.array(moneySchema),
  }),
  /** Payments waiting for an admin: flagged money and money owed back (the Payments tab's "Flagged"). */
  flaggedPayments: z.number().int(),
  webhookInbox: z.object({ pending: z.number().int(), failed: z.number().int(), dead: z.number().int() }),
  /** The last 60 minutes, oldest first; the last entry is the current (unfinished) minute. */
  ordersPerMinute: z.array(z.object({ minute: z.string(), orders: z.number().int() })),
});
export type StatsResponse = z.infer<typeof statsSchema>;
