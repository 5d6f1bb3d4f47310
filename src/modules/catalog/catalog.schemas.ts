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

export const createProductBody = z.strictObject({
  sku,
  name,
  description: description.optional(),
  price: moneyInputSchema,
  stock,
  /** Extension: create a product hidden from the public until it is activated. */
  active: z.boolean().optional(),
});
export type CreateProductInput = z.output<typeof createProductBody>;

export const updateProductBody = z
  .strictObject({
    name: name.optional(),
    description: description.nullable().optional(),
    price: moneyInputSchema.optional(),
    stock: stock.optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateProductInput = z.output<typeof updateProductBody>;

export const productParams = z.strictObject({ id: z.string().min(1).max(64) });

export const publicListQuery = z.strictObject(listQuery);
export const adminListQuery = z.strictObject({
  ...listQuery,
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
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
