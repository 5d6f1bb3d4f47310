import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import { sendCacheable } from '../../http/cacheable.ts';
import type { CatalogCache } from './catalog.cache.ts';
import {
  adminListQuery,
  createProductBody,
  productListSchema,
  productParams,
  productSchema,
  publicListQuery,
  updateProductBody,
} from './catalog.schemas.ts';
import { imageRoutes } from './catalog.image-routes.ts';
import * as service from './catalog.service.ts';

const tags = ['catalog'];

/** What the catalog routes need from the app. */
export type CatalogContext = ModuleContext<{ database: Database; clock: Clock; catalogCache: CatalogCache }>;

/** Public catalog under /api/v1/products; staff and admin views under /api/v1/admin/products. */
export function catalogRoutes(ctx: CatalogContext): void {
  const deps = { db: ctx.deps.database.db, clock: ctx.deps.clock, cache: ctx.deps.catalogCache };
  const open = ctx.define('/api/v1/products');
  const admin = ctx.define('/api/v1/admin/products');
  publicCatalogRoutes(open, deps);
  adminCatalogRoutes(admin, deps);
  imageRoutes(open, admin, deps);
}

type CatalogDeps = service.CatalogDeps;

const revalidated = { 304: { description: 'Not modified: If-None-Match names the current ETag' } };

function publicCatalogRoutes(open: ModuleRoutes, deps: CatalogDeps): void {
  open.route(
    {
      method: 'get',
      path: '/',
      summary: 'List active products, newest first (cursor pagination); q searches names',
      tags,
      auth: false,
      query: publicListQuery,
      responses: { 200: { description: 'A page of products', schema: productListSchema }, ...revalidated },
    },
    async ({ query }, req, res) => {
      sendCacheable(req, res, await service.activeProductsAnswer(deps, query));
    },
  );

  open.route(
    {
      method: 'get',
      path: '/:id',
      summary: 'Get an active product',
      tags,
      auth: false,
      params: productParams,
      responses: { 200: { description: 'The product', schema: productSchema }, ...revalidated },
    },
    async ({ params }, req, res) => {
      sendCacheable(req, res, await service.activeProductAnswer(deps, params.id));
    },
  );
}

function adminCatalogRoutes(admin: ModuleRoutes, deps: CatalogDeps): void {
  admin.route(
    {
      method: 'get',
      path: '/',
      summary: 'List every product, inactive ones included (support, admin); filter with active=true|false',
      tags,
      auth: true,
      query: adminListQuery,
      responses: { 200: { description: 'A page of products', schema: productListSchema } },
    },
    async ({ query }, req, res) => {
      res.json(await service.listAllProducts(deps, actorOf(req), query));
    },
  );

  admin.route(
    {
      method: 'get',
      path: '/:id',
      summary: 'Get any product, inactive ones included (support, admin)',
      tags,
      auth: true,
      params: productParams,
      responses: { 200: { description: 'The product', schema: productSchema } },
    },
    async ({ params }, req, res) => {
      res.json(await service.getAnyProduct(deps, actorOf(req), params.id));
    },
  );

  admin.route(
    {
      method: 'post',
      path: '/',
      summary: 'Create a product (admin)',
      tags,
      auth: true,
      body: createProductBody,
      responses: { 201: { description: 'Created', schema: productSchema } },
    },
    async ({ body }, req, res) => {
      res.status(201).json(await service.createProduct(deps, actorOf(req), body));
    },
  );

  admin.route(
    {
      method: 'patch',
      path: '/:id',
      summary:
        'Change a product (admin): name, description, price, stock (absolute), active, imageUrl (null removes it)',
      tags,
      auth: true,
      params: productParams,
      body: updateProductBody,
      responses: { 200: { description: 'The changed product', schema: productSchema } },
    },
    async ({ params, body }, req, res) => {
      res.json(await service.updateProduct(deps, actorOf(req), params.id, body));
    },
  );
}
