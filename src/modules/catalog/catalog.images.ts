import { createHash } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, notFound } from '../../shared/errors.ts';
import { requirePermission } from '../auth/index.ts';
import type { CatalogCache } from './catalog.cache.ts';
import { toProductResponse, type ProductResponse } from './catalog.schemas.ts';

/** Uploaded product images: PNG, JPEG or WebP up to 2 MiB, kept in the database (migration 0013). */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];
export const IMAGE_MAX_BYTES = 2 * 1024 * 1024;

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0): boolean =>
  bytes.length >= at + signature.length && signature.every((b, i) => bytes[at + i] === b);

/** The type the bytes' signature says (the Content-Type header is only a claim); undefined when none fits. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  // RIFF, a 4-byte size, then WEBP.
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) {
    return 'image/webp';
  }
  return undefined;
}

/** The public address of a product's uploaded image; `v` changes with the bytes, so caches never show an old one. */
export const uploadedImageUrl = (productId: string, etag: string): string =>
  `/api/v1/products/${encodeURIComponent(productId)}/image?v=${etag}`;

interface ImageDeps {
  db: Db;
  clock: Clock;
  cache: CatalogCache;
}

/** Route guard: only admins may upload, checked before a byte of the body is read. */
export function assertMayChangeImages(actor: Actor): void {
  requirePermission(actor, 'products_write', 'Only admins may change product images.');
}

/** Stores the image (replacing any) and points the product's imageUrl at it, in one transaction. */
export async function putImage(
  deps: ImageDeps,
  actor: Actor,
  productId: string,
  body: unknown,
  claimed: string,
): Promise<ProductResponse> {
  assertMayChangeImages(actor);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  const type = sniffImageType(bytes);
  if (type === undefined || type !== claimed) {
    throw new AppError(
      'unsupported',
      'unsupported_image',
      `The body is not a ${claimed.replace('image/', '').toUpperCase()} image: its bytes ${
        type === undefined ? 'are no PNG, JPEG or WebP' : `are ${type}`
      }.`,
    );
  }
  const etag = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const now = deps.clock.now();
  const product = await deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('products')
      .set({ image_url: uploadedImageUrl(productId, etag), updated_at: now })
      .where('id', '=', productId)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw notFound('Product');
    await trx
      .insertInto('product_images')
      .values({ product_id: productId, content_type: type, bytes, etag, created_at: now })
      .onConflict((oc) => oc.column('product_id').doUpdateSet({ content_type: type, bytes, etag, created_at: now }))
      .execute();
    return toProductResponse(row);
  });
  await deps.cache.invalidate([productId]);
  return product;
}

/** Removes the product's image, uploaded or linked: imageUrl becomes null. Removing none is not an error. */
export async function deleteImage(deps: ImageDeps, actor: Actor, productId: string): Promise<ProductResponse> {
  assertMayChangeImages(actor);
  const product = await deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('products')
      .set({ image_url: null, updated_at: deps.clock.now() })
      .where('id', '=', productId)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw notFound('Product');
    await trx.deleteFrom('product_images').where('product_id', '=', productId).execute();
    return toProductResponse(row);
  });
  await deps.cache.invalidate([productId]);
  return product;
}

/** Drops the stored bytes when imageUrl is set another way (PATCH), so nothing is kept that nothing shows. */
export async function forgetUploadedImage(db: Db, productId: string): Promise<void> {
  await db.deleteFrom('product_images').where('product_id', '=', productId).execute();
}

export interface StoredImage {
  contentType: ImageType;
  bytes: Uint8Array;
  etag: string;
}

/** The ETag of a product's uploaded image alone (no bytes read), so a matching If-None-Match costs no blob read. */
export async function readImageTag(db: Db, productId: string): Promise<string> {
  const row = await db
    .selectFrom('product_images')
    .select('etag')
    .where('product_id', '=', productId)
    .executeTakeFirst();
  if (row === undefined) throw notFound('Image');
  return row.etag;
}

/** The uploaded image of a product, active or not (its id, 20 random characters, is the secret). */
export async function readImage(db: Db, productId: string): Promise<StoredImage> {
  const row = await db
    .selectFrom('product_images')
    .select(['content_type', 'bytes', 'etag'])
    .where('product_id', '=', productId)
    .executeTakeFirst();
  if (row === undefined) throw notFound('Image');
  return { contentType: row.content_type, bytes: row.bytes, etag: row.etag };
}
