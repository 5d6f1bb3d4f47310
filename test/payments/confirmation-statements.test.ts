import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { applyPaymentFact } from '../../src/modules/payments/confirmation.ts';
import { newOrder, paymentRow, startPayment, startShop, type Shop } from './support.ts';

/** Statements per confirmation on main before issue 14 (measured): they may go down, not up. */
const STATEMENTS = { paid: 10, duplicate: 3 };

/** Counts the statements Kysely sends (raw `sql` included). */
class CountStatements implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count += 1;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

// What one confirmation costs in round trips, so that a change making it dearer is seen (issue 14: statement
// counts per confirmation do not go up). The numbers are what the confirmation path sent when this test was written.
describe('payments: statements per confirmation', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  async function confirmCounting(kind: 'paid' | 'duplicate'): Promise<{ statements: number; outcome: unknown }> {
    const order = await newOrder(shop);
    const { id } = await startPayment(shop, order.id);
    const fact = {
      kind: 'paid' as const,
      ref: { paymentId: id, sessionId: null, paymentIntentId: null },
      amount: 2500,
      currency: 'usd',
      paymentIntentId: `pi_${id}`,
    };
    const at = shop.clock.now();
    if (kind === 'duplicate') {
      await shop.app.database.db.transaction().execute((trx) => applyPaymentFact(trx, fact, { at, actor: 'test' }));
    }
    const counter = new CountStatements();
    const result = await shop.app.database.db
      .withPlugin(counter)
      .transaction()
      .execute((trx) => applyPaymentFact(trx, fact, { at, actor: 'test' }));
    assert.equal((await paymentRow(shop, id)).status, 'SUCCEEDED');
    return { statements: counter.count, outcome: result.outcome };
  }

  it('PENDING -> SUCCEEDED with the order CREATED -> PAID', async () => {
    const { statements, outcome } = await confirmCounting('paid');
    assert.deepEqual(outcome, { kind: 'paid', from: 'PENDING' });
    assert.ok(statements <= STATEMENTS.paid, `a confirmation took ${statements} statements`);
  });

  it('a duplicate changes nothing and reads only', async () => {
    const { statements, outcome } = await confirmCounting('duplicate');
    assert.deepEqual(outcome, { kind: 'duplicate', of: 'status', status: 'SUCCEEDED' });
    assert.ok(statements <= STATEMENTS.duplicate, `a duplicate took ${statements} statements`);
  });
});
