import { sql } from 'kysely';
import type { PaymentsTable } from '../../db/schema.ts';

/**
 * Every column of a payment, by name, for the confirmation path's hand-written statements (paid-at-once.ts,
 * payment-reads.ts): a statement that names its columns is sent by name on a server, parsed and planned once per
 * connection, where one with `select *` / `returning *` never is (src/db/prepared.ts). The confirmation's statement took
 * ~0.45 ms of PostgreSQL's planning on every call.
 */
export const PAYMENT_COLUMNS = [
  'id',
  'order_id',
  'user_id',
  'provider',
  'status',
  'amount',
  'currency',
  'refunded_amount',
  'gateway_session_id',
  'gateway_payment_intent_id',
  'checkout_url',
  'session_expires_at',
  'failure_reason',
  'flagged_reason',
  'captured_amount',
  'captured_currency',
  'created_at',
  'updated_at',
  'succeeded_at',
  'reconciled_at',
] as const satisfies readonly (keyof PaymentsTable)[];
// A column added to PaymentsTable (schema.ts, which schema.test.ts keeps equal to the database) and not listed above
// does not compile.
const everyPaymentColumn: Exclude<keyof PaymentsTable, (typeof PAYMENT_COLUMNS)[number]> extends never ? true : never =
  true;
void everyPaymentColumn;

const columnList = PAYMENT_COLUMNS.join(', ');

/** PAYMENT_COLUMNS as a select list, each qualified by `alias` if given (the unqualified list built once). */
export function paymentColumnsSql(alias?: string) {
  return sql.raw(alias === undefined ? columnList : PAYMENT_COLUMNS.map((column) => `${alias}.${column}`).join(', '));
}
