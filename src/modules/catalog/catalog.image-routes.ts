import type { RequestHandler } from 'express';
import { noneMatchHits } from '../../http/cacheable.ts';
import { z } from 'zod';
import { actorOf } from '../../http/authenticate.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { CatalogDeps } from './catalog.service.ts';
import * as images from './catalog.images.ts';
import { productParams, productSchema } from './catalog.schemas.ts';

const tags = ['catalog'];
const imageQuery = z.strictObject({
  /** The imageUrl's cache key; any value (or none) gets the current image. */
  v: z
    .string()
    .regex(/^[0-9a-f]{1,64}$/, 'hex digits')
    .optional(),
});

/** Admins only, before a byte of an upload is read. */
const adminsOnly: RequestHandler = (req, _res, next) => {
  images.assertMayChangeImages(actorOf(req));
  next();
};

/** GET /api/v1/products/:id/image (public); PUT and DELETE /api/v1/admin/products/:id/image (admin). */
export function imageRoutes(open: ModuleRoutes, admin: ModuleRoutes, deps: CatalogDeps): void {
  open.route(
    {
      method: 'get',
      path: '/:id/image',
      summary: "A product's uploaded image (the bytes, with ETag; If-None-Match answers 304)",
      tags,
      auth: false,
      params: productParams,
      query: imageQuery,
      responses: {
        200: { description: 'The image', binary: images.IMAGE_TYPES },
        304: { description: 'Not modified (If-None-Match matched the ETag)' },
      },
    },
    async ({ params, query }, req, res) => {
      // The tag alone first: a matching If-None-Match is answered without reading the bytes.
      const known = await images.readImageTag(deps.db, params.id);
      const matched = noneMatchHits(req.get('if-none-match'), `"${known}"`);
      const image = matched ? undefined : await images.readImage(deps.db, params.id);
      const etag = image?.etag ?? known;
      // The imageUrl names the bytes (?v=<etag>): that address never changes meaning, so it may be kept a year.
      res.setHeader(
        'Cache-Control',
        query.v === etag ? 'public, max-age=31536000, immutable' : 'public, max-age=0, must-revalidate',
      );
      res.setHeader('ETag', `"${etag}"`);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (image === undefined) {
        res.status(304).end();
        return;
      }
      res.type(image.contentType).send(Buffer.from(image.bytes));
    },
  );

  admin.route(
    {
      method: 'put',
      path: '/:id/image',
      summary: 'Upload or replace a product image (admin): the raw bytes, PNG, JPEG or WebP, up to 2 MiB',
      tags,
      auth: true,
      params: productParams,
      before: [adminsOnly],
      rawBody: { types: images.IMAGE_TYPES, limit: images.IMAGE_MAX_BYTES },
      responses: { 200: { description: 'The product, imageUrl pointing at the image', schema: productSchema } },
    },
    async ({ params }, req, res) => {
      const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      res.json(await images.putImage(deps, actorOf(req), params.id, req.body, type));
    },
  );

  admin.route(
    {
      method: 'delete',
      path: '/:id/image',
      summary: "Remove a product's image, uploaded or linked (admin): imageUrl becomes null",
      tags,
      auth: true,
      params: productParams,
      responses: { 200: { description: 'The product without an image', schema: productSchema } },
    },
    async ({ params }, req, res) => {
      res.json(await images.deleteImage(deps, actorOf(req), params.id));
    },
  );
}
