import type { Db } from '../../db/database.ts';
import type { Clock } from '../../shared/clock.ts';
import { newId } from '../../shared/ids.ts';

/**
 * The demo catalog a first run starts with, so a newcomer can buy something at once. Its pictures are
 * files under web/images/demo/, served by Fulcrum at /images/demo/…. Seeded once, outside production,
 * into an empty catalog (SEED_DEMO=false turns it off); the products are ordinary ones afterwards, which
 * an admin may change or deactivate.
 */
export interface DemoProduct {
  sku: string;
  name: string;
  description: string;
  /** Minor units (cents). */
  amount: number;
  stock: number;
  imageUrl: string;
}

export const DEMO_CURRENCY = 'usd';

export const DEMO_PRODUCTS: readonly DemoProduct[] = [
  {
    sku: 'DEMO-DESK-LAMP',
    name: 'Walnut desk lamp',
    description: 'A solid walnut arm with a matte steel shade and a warm 2700 K bulb. Tilts where you need it.',
    amount: 8900,
    stock: 25,
    imageUrl: '/images/demo/desk-lamp.svg',
  },
  {
    sku: 'DEMO-MUG',
    name: 'Stoneware mug',
    description: 'Hand-glazed, 350 ml, heavy enough to keep coffee warm through a long meeting.',
    amount: 1800,
    stock: 120,
    imageUrl: '/images/demo/mug.svg',
  },
  {
    sku: 'DEMO-TOTE',
    name: 'Linen tote bag',
    description: 'Washed linen with a terracotta band and long handles that fit over a coat.',
    amount: 2400,
    stock: 80,
    imageUrl: '/images/demo/tote-bag.svg',
  },
  {
    sku: 'DEMO-POUR-OVER',
    name: 'Pour-over coffee set',
    description: 'A porcelain dripper on a 600 ml glass carafe. Paper filters for the first month included.',
    amount: 4200,
    stock: 40,
    imageUrl: '/images/demo/pour-over.svg',
  },
  {
    sku: 'DEMO-BEANIE',
    name: 'Merino beanie',
    description: 'Ribbed merino wool in deep teal, with a mustard pompom. One size, soft on the ears.',
    amount: 2900,
    stock: 60,
    imageUrl: '/images/demo/beanie.svg',
  },
  {
    sku: 'DEMO-NOTEBOOK',
    name: 'Dot-grid notebook',
    description: 'A5, 192 numbered pages of 100 g paper, lay-flat binding, an elastic band and a ribbon.',
    amount: 1400,
    stock: 150,
    imageUrl: '/images/demo/notebook.svg',
  },
  {
    sku: 'DEMO-PLANT-POT',
    name: 'Terracotta plant pot',
    description: 'A 14 cm glazed pot with a drainage hole and a matching saucer. The plant is not included.',
    amount: 3200,
    stock: 45,
    imageUrl: '/images/demo/plant-pot.svg',
  },
  {
    sku: 'DEMO-SNEAKERS',
    name: 'Canvas sneakers',
    description: 'Organic cotton canvas on a natural rubber sole, in cherry red. Sizes 36 to 46.',
    amount: 6500,
    stock: 30,
    imageUrl: '/images/demo/sneakers.svg',
  },
];

/** The job_state row that records the seeding was decided, whatever the outcome: it happens once per database. */
export const DEMO_SEED_KEY = 'catalog.demo_seed';

export type DemoSeedOutcome =
  | { seeded: true; count: number }
  | { seeded: false; reason: 'production' | 'disabled' | 'already_done' | 'catalog_not_empty' };

export interface DemoSeedOptions {
  db: Db;
  clock: Clock;
  nodeEnv: 'development' | 'production' | 'test';
  /** SEED_DEMO. */
  enabled: boolean;
}

/**
 * Seeds the demo catalog when this database never was (and its catalog is empty), in one transaction.
 * The marker row is inserted first: of two processes starting at once on PostgreSQL, the second waits
 * on the first's uncommitted row and then finds it, so the products are inserted once. Production never seeds.
 */
export async function seedDemoCatalog({ db, clock, nodeEnv, enabled }: DemoSeedOptions): Promise<DemoSeedOutcome> {
  if (nodeEnv === 'production') return { seeded: false, reason: 'production' };
  if (!enabled) return { seeded: false, reason: 'disabled' };
  return db.transaction().execute(async (trx) => {
    const now = clock.now();
    const claimed = await trx
      .insertInto('job_state')
      .values({ key: DEMO_SEED_KEY, value: JSON.stringify({ outcome: 'seeding' }), updated_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst();
    if (claimed === undefined) return { seeded: false, reason: 'already_done' } as const;
    const existing = await trx.selectFrom('products').select('id').limit(1).executeTakeFirst();
    const outcome: DemoSeedOutcome =
      existing === undefined
        ? { seeded: true, count: DEMO_PRODUCTS.length }
        : { seeded: false, reason: 'catalog_not_empty' };
    if (outcome.seeded) {
      await trx
        .insertInto('products')
        .values(
          // One second apart, so the newest-first list shows them in this order.
          DEMO_PRODUCTS.map((p, i) => {
            const at = new Date(now.getTime() - i * 1000);
            return {
              id: newId('prd'),
              sku: p.sku,
              name: p.name,
              description: p.description,
              price_amount: p.amount,
              currency: DEMO_CURRENCY,
              stock: p.stock,
              active: true,
              image_url: p.imageUrl,
              created_at: at,
              updated_at: at,
            };
          }),
        )
        .execute();
    }
    await trx
      .updateTable('job_state')
      .set({ value: JSON.stringify(outcome), updated_at: now })
      .where('key', '=', DEMO_SEED_KEY)
      .execute();
    return outcome;
  });
}
