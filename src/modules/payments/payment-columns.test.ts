import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
} from 'kysely';
import type { Executor } from '../../db/database.ts';
import { statementNames } from '../../db/prepared.ts';
import { markPaidAtOnce } from './paid-at-once.ts';
import { paymentsForRefs } from './payment-reads.ts';
import type { PaymentRow } from './payments.repository.ts';

/** A Kysely that runs nothing (no rows come back) and keeps what it would have sent. */
function recording(): { db: Executor; sent: CompiledQuery[] } {
  const sent: CompiledQuery[] = [];
  const db = new Kysely<never>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (d) => new PostgresIntrospector(d),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    log: (event) => void sent.push(event.query),
  }) as unknown as Executor;
  return { db, sent };
}

const pending = {
  id: 'pay_1',
  order_id: 'ord_1',
  user_id: 'usr_1',
  provider: 'stripe',
  status: 'PENDING',
  amount: 2500,
  currency: 'usd',
  refunded_amount: 0,
  captured_amount: null,
  flagged_reason: null,
} as unknown as PaymentRow;

// Issue 11: on a server a statement returning `*` is never sent by name (src/db/prepared.ts), so it is parsed and
// planned on every call; the confirmation path's statements name their columns (payment-columns.ts).
describe("the confirmation path's statements may be prepared on a server", () => {
  it('the one-statement confirmation and the chunk read of payments get a name the second time they are sent', async () => {
    const { db, sent } = recording();
    const ref = { paymentId: 'pay_1', sessionId: null, paymentIntentId: null };
    const fact = { kind: 'paid', ref, amount: 2500, currency: 'usd', paymentIntentId: 'pi_1' } as const;
    await markPaidAtOnce(db, pending, fact, { at: new Date(), actor: 'test' });
    await paymentsForRefs(db, [ref]);
    assert.equal(sent.length, 2);
    const names = statementNames();
    for (const { sql } of sent) {
      assert.equal(names.nameOf(sql), undefined, 'the first time: unnamed');
      assert.ok(names.nameOf(sql) !== undefined, `never named on a server: ${sql.slice(0, 80)}`);
    }
  });
});
