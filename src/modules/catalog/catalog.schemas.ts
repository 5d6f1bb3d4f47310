import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { ProductsTable } from '../../db/schema.ts';
import { listQuery } from '../../http/validate.ts';
import { moneyInputSchema, moneySchema, toCurrency } from '../../shared/money.ts';

const sku = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');
const name = z.string().trim().min(1).max(200);
const description = z.string().max(5000);
const stock = z.number().int().min(0).max(1_000_000_000);

const IMAGE_URL_MAX = 2048;
const LOCAL = 'http://fulcrum.invalid';

/**
 * A path on this server (`/images/demo/mug.svg`, served by Fulcrum) or an https URL. Anything else — http,
 * `javascript:`, `data:`, a protocol-relative `//host/…`, a bare word — would load from where the shop does
 * not control, or not at all, so it is refused.
 */
export function imageUrlProblem(value: string): string | undefined {
  const problem = 'must be a path on this server starting with "/" (e.g. /images/demo/mug.svg) or an https:// URL';
  if (value.length === 0 || value.length > IMAGE_URL_MAX) return `${problem}, at most ${IMAGE_URL_MAX} characters`;
  // No whitespace, control characters or backslashes (browsers read a backslash as "/"): what is stored is what loads.
  if (/[\s\\]/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return problem;
  }
  if (value.startsWith('/')) {
    if (value.startsWith('//')) return problem;
    try {
      return new URL(value, LOCAL).origin === LOCAL ? undefined : problem;
    } catch {
      return problem;
    }
  }
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === ''
      ? undefined
      : problem;
  } catch {
    return problem;
  }
}

const imageUrl = z
  .string()
  .superRefine((value, ctx) => {
    const problem = imageUrlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description: 'A path on this server starting with "/" or an https:// URL',
    example: '/images/demo/mug.svg',
    maxLength: IMAGE_URL_MAX,
  });

export const createProductBody = z.strictObject({
  sku,
  name,
  description: description.optional(),
  price: moneyInputSchema,
  stock,
  /** Extension: create a product hidden from the public until it is activated. */
  active: z.boolean().optional(),
  imageUrl: imageUrl.nullable().optional(),
});
export type CreateProductInput = z.output<typeof createProductBody>;

export const updateProductBody = z
  .strictObject({
    name: name.optional(),
    description: description.nullable().optional(),
    price: moneyInputSchema.optional(),
    stock: stock.optional(),
    active: z.boolean().optional(),
    /** null removes the image. */
    imageUrl: imageUrl.nullable().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateProductInput = z.output<typeof updateProductBody>;

export const productParams = z.strictObject({ id: z.string().min(1).max(64) });

/** Search: products whose name contains the text, case-insensitively (docs/api.md § Catalog). */
const q = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .meta({ description: 'Products whose name contains this text (case-insensitive), 1–100 characters' });

export const publicListQuery = z.strictObject({ ...listQuery, q: q.optional() });
export const adminListQuery = z.strictObject({
  ...listQuery,
  q: q.optional(),
  active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

export const productSchema = z.object({
  id: z.string(),
  sku: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  price: moneySchema,
  stock: z.number().int(),
  active: z.boolean(),
  /** A path on this server or an https URL; null when the product has no image. */
  imageUrl: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ProductResponse = z.infer<typeof productSchema>;

export const productListSchema = z.object({ data: z.array(productSchema), nextCursor: z.string().nullable() });

export type ProductRow = Selectable<ProductsTable>;

/** The one place a product row becomes a response. */
export function toProductResponse(row: ProductRow): ProductResponse {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    price: { amount: row.price_amount, currency: toCurrency(row.currency) },
    stock: row.stock,
    active: row.active,
    imageUrl: row.image_url,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
