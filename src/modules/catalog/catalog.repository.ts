import { sql, type Insertable, type RawBuilder, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { keysetPage, type Page } from '../../db/keyset.ts';
import type { ProductsTable } from '../../db/schema.ts';
import type { Cursor } from '../../shared/cursor.ts';
import { stockChanged } from './catalog.cache.ts';
import type { ProductRow } from './catalog.schemas.ts';

export type InsertResult = { ok: true; row: ProductRow } | { ok: false; reason: 'sku_taken' };

/** The unique index decides sku_taken; reading first would race. */
export async function insertProduct(db: Executor, values: Insertable<ProductsTable>): Promise<InsertResult> {
  try {
    const row = await db.insertInto('products').values(values).returningAll().executeTakeFirstOrThrow();
    return { ok: true, row };
  } catch (error) {
    if (isUniqueViolation(error, 'products_sku_key')) return { ok: false, reason: 'sku_taken' };
    throw error;
  }
}

export async function updateProduct(
  db: Executor,
  id: string,
  values: Updateable<ProductsTable>,
): Promise<ProductRow | undefined> {
  return db.updateTable('products').set(values).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function findProduct(db: Executor, id: string): Promise<ProductRow | undefined> {
  return db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Newest first; `active` filters (served by the partial index when true). A page by keysetPage.
 * `q` keeps names containing it, case-insensitively: a filter on the index walk, not an index of its own (a
 * substring needs pg_trgm, which PGlite does not load by default; a shop's catalog is thousands of rows, not millions).
 */
export async function listProducts(
  db: Executor,
  options: { limit: number; after: Cursor | undefined; active: boolean | undefined; q?: string | undefined },
): Promise<Page<ProductRow>> {
  let query = db.selectFrom('products').selectAll();
  if (options.active !== undefined) query = query.where('active', '=', sql.lit(options.active));
  // strpos, not LIKE: the text is matched as it is, with no wildcard to escape.
  if (options.q !== undefined) query = query.where(sql<boolean>`strpos(lower(name), lower(${options.q})) > 0`);
  return keysetPage(query, { at: 'created_at', after: options.after, limit: options.limit });
}

export interface StockLine {
  productId: string;
  quantity: number;
}

/**
 * Locks the products of an order in id order (so two orders over the same products never deadlock)
 * and returns them: one statement whatever the number of lines.
 */
export async function lockProducts(trx: Executor, ids: readonly string[]): Promise<ProductRow[]> {
  if (ids.length === 0) return [];
  return trx
    .selectFrom('products')
    .selectAll()
    .where('id', 'in', [...ids])
    .orderBy('id')
    .forUpdate()
    .execute();
}

const valuesList = (lines: readonly StockLine[]) =>
  sql.join(lines.map((l) => sql`(${l.productId}::text, ${l.quantity}::integer)`));

/** A line to reserve, with the product as the caller read it: the reservation holds only if it is unchanged. */
export interface PricedStockLine extends StockLine {
  priceAmount: number;
  currency: string;
  sku: string;
  name: string;
}

/**
 * Stock for an order, as the body of a data-modifying CTE of the statement that writes the order: a line is taken
 * only when enough is left, the product is active and its price, currency, SKU and name are still what the caller
 * read (so an order never records a price the catalog no longer has). Returns the ids taken; the statement must
 * refuse itself unless every line was. Lines go in product id order, the order restock locks them in.
 */
export function reserveStockInline(lines: readonly PricedStockLine[]): RawBuilder<{ id: string }> {
  // The statement runs next: the cached answers go now (a read in between may keep the old stock, for the TTL).
  stockChanged(lines.map((l) => l.productId));
  const sorted = [...lines].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
  const values = sql.join(
    sorted.map(
      (l) =>
        sql`(${l.productId}::text, ${l.quantity}::integer, ${l.priceAmount}::integer, ${l.currency}::text, ${l.sku}::text, ${l.name}::text)`,
    ),
  );
  return sql<{ id: string }>`
    update products p set stock = p.stock - v.q, updated_at = now()
    from (values ${values}) as v(id, q, price_amount, currency, sku, name)
    where p.id = v.id and p.stock >= v.q and p.active
      and p.price_amount = v.price_amount and p.currency = v.currency and p.sku = v.sku and p.name = v.name
    returning p.id`;
}

/** Puts units back on the shelf (a cancelled order's reservation), in one statement. */
export async function restock(trx: Executor, lines: readonly StockLine[]): Promise<void> {
  if (lines.length === 0) return;
  // Lock in id order first, as lockProducts does, so a release never deadlocks with a reservation.
  await lockProducts(
    trx,
    lines.map((l) => l.productId),
  );
  await sql`
    update products p set stock = p.stock + v.q, updated_at = now()
    from (values ${valuesList(lines)}) as v(id, q)
    where p.id = v.id`.execute(trx);
  stockChanged(lines.map((l) => l.productId));
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && e.constraint === constraint;
}
