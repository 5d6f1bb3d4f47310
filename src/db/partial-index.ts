import { sql } from 'kysely';

/**
 * The values partial indexes are defined over, for a query that needs the index, written into the SQL text as
 * literals rather than sent as parameters. With prepared statements (DATABASE_PREPARED_STATEMENTS, the default)
 * PostgreSQL soon plans a statement once for any parameters (a generic plan), and such a plan cannot use an index
 * whose WHERE names a value that is a parameter in the query — `status = $1` need not be 'pending' — so the table is
 * scanned whole: issue 11 found the mail job's claim taking 7 ms a call on a bench's `mails` table, a sequential scan
 * of every mail ever sent. A literal lets every plan use the index.
 */
export const PARTIAL_INDEX = {
  /** mails_due_idx (migration 0012). */
  pending: sql.lit<'pending'>('pending'),
  /** payments_pending_idx, refunds_pending_idx (migration 0003). */
  PENDING: sql.lit<'PENDING'>('PENDING'),
  /** orders_expiry_idx (migration 0002). */
  created: sql.lit<'CREATED'>('CREATED'),
} as const;
