import type { Updateable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { ProductsTable } from '../../db/schema.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { decodeCursor } from '../../shared/cursor.ts';
import { conflict, notFound } from '../../shared/errors.ts';
import { requirePermission } from '../auth/index.ts';
import { newId } from '../../shared/ids.ts';
import { answerOf, type CachedAnswer, type CatalogCache } from './catalog.cache.ts';
import { forgetUploadedImage, uploadedImageUrl } from './catalog.images.ts';
import * as repo from './catalog.repository.ts';
import {
  toProductResponse,
  type CreateProductInput,
  type ProductResponse,
  type UpdateProductInput,
} from './catalog.schemas.ts';

export interface CatalogDeps {
  db: Db;
  clock: Clock;
  /** Public answers; every write below drops what it changed (catalog.cache.ts). */
  cache: CatalogCache;
}

export interface ProductPage {
  data: ProductResponse[];
  nextCursor: string | null;
}

/** The public catalog: active products only, newest first. */
export async function listActiveProducts(
  deps: CatalogDeps,
  query: { limit: number; cursor?: string | undefined; q?: string | undefined },
): Promise<ProductPage> {
  return list(deps, { ...query, active: true });
}

/**
 * The public list page as sent, from the cache when it holds it (kept at most CATALOG_CACHE_TTL_MS; dropped by
 * every admin write).
 */
export async function activeProductsAnswer(
  deps: CatalogDeps,
  query: { limit: number; cursor?: string | undefined; q?: string | undefined },
): Promise<CachedAnswer> {
  const key = JSON.stringify([query.limit, query.cursor ?? null, query.q ?? null]);
  const hit = await deps.cache.list(key);
  if (hit !== undefined) return hit;
  const answer = answerOf(await listActiveProducts(deps, query));
  // Not awaited: the answer does not wait for Redis; a failed write is a later miss.
  void deps.cache.keepList(key, answer);
  return answer;
}

/** Staff view (the `read_all` permission): every product, inactive ones included, optionally filtered by `active`. */
export async function listAllProducts(
  deps: CatalogDeps,
  actor: Actor,
  query: { limit: number; cursor?: string | undefined; active?: boolean | undefined; q?: string | undefined },
): Promise<ProductPage> {
  requirePermission(actor, 'read_all', 'Only staff may list every product.');
  return list(deps, query);
}

async function list(
  deps: CatalogDeps,
  query: { limit: number; cursor?: string | undefined; active?: boolean | undefined; q?: string | undefined },
): Promise<ProductPage> {
  const page = await repo.listProducts(deps.db, {
    limit: query.limit,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    active: query.active,
    q: query.q,
  });
  return { data: page.rows.map(toProductResponse), nextCursor: page.nextCursor };
}

/** An inactive product is not found by the public. */
export async function getActiveProduct(deps: CatalogDeps, id: string): Promise<ProductResponse> {
  const row = await repo.findProduct(deps.db, id);
  if (row === undefined || !row.active) throw notFound('Product');
  return toProductResponse(row);
}

/** The public product as sent, from the cache when it holds it. An inactive or unknown product is not kept. */
export async function activeProductAnswer(deps: CatalogDeps, id: string): Promise<CachedAnswer> {
  const hit = await deps.cache.product(id);
  if (hit !== undefined) return hit;
  const answer = answerOf(await getActiveProduct(deps, id));
  void deps.cache.keepProduct(id, answer);
  return answer;
}

export async function getAnyProduct(deps: CatalogDeps, actor: Actor, id: string): Promise<ProductResponse> {
  requirePermission(actor, 'read_all', 'Only staff may read inactive products.');
  const row = await repo.findProduct(deps.db, id);
  if (row === undefined) throw notFound('Product');
  return toProductResponse(row);
}

export async function createProduct(
  deps: CatalogDeps,
  actor: Actor,
  input: CreateProductInput,
): Promise<ProductResponse> {
  requirePermission(actor, 'products_write', 'Only admins may create products.');
  const now = deps.clock.now();
  const result = await repo.insertProduct(deps.db, {
    id: newId('prd'),
    sku: input.sku,
    name: input.name,
    description: input.description ?? null,
    price_amount: input.price.amount,
    currency: input.price.currency,
    stock: input.stock,
    active: input.active ?? true,
    image_url: input.imageUrl ?? null,
    created_at: now,
    updated_at: now,
  });
  if (!result.ok) throw conflict('sku_taken', `A product with sku ${input.sku} already exists.`);
  await deps.cache.invalidate([result.row.id]);
  return toProductResponse(result.row);
}

/** `stock` sets what is available now (absolute, not a delta). */
export async function updateProduct(
  deps: CatalogDeps,
  actor: Actor,
  id: string,
  input: UpdateProductInput,
): Promise<ProductResponse> {
  requirePermission(actor, 'products_write', 'Only admins may change products.');
  const values: Updateable<ProductsTable> = { updated_at: deps.clock.now() };
  if (input.name !== undefined) values.name = input.name;
  if (input.description !== undefined) values.description = input.description;
  if (input.price !== undefined) {
    values.price_amount = input.price.amount;
    values.currency = input.price.currency;
  }
  if (input.stock !== undefined) values.stock = input.stock;
  if (input.active !== undefined) values.active = input.active;
  if (input.imageUrl !== undefined) values.image_url = input.imageUrl;
  const row = await repo.updateProduct(deps.db, id, values);
  if (row === undefined) throw notFound('Product');
  // An imageUrl set here replaces an uploaded image: its bytes go (PUT …/image uploads one again).
  if (input.imageUrl !== undefined && input.imageUrl?.split('?')[0] !== uploadedImageUrl(id, '').split('?')[0]) {
    await forgetUploadedImage(deps.db, id);
  }
  await deps.cache.invalidate([id]);
  return toProductResponse(row);
}
