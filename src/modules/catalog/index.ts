import { catalogRoutes, type CatalogContext } from './catalog.routes.ts';

export { createCatalogCache, type CatalogCache, type CatalogCacheOptions } from './catalog.cache.ts';
export {
  lockProducts,
  reserveStockInline,
  restock,
  type PricedStockLine,
  type StockLine,
} from './catalog.repository.ts';
export { seedDemoCatalog, DEMO_PRODUCTS, type DemoSeedOutcome } from './demo-catalog.ts';
export { toProductResponse, type ProductResponse, type ProductRow } from './catalog.schemas.ts';

/** Defines the routes under /api/v1/products and /api/v1/admin/products. */
export function catalogModule(ctx: CatalogContext): void {
  catalogRoutes(ctx);
}
