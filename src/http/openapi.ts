import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Router } from 'express';
import { z } from 'zod';
import type { RegisteredRoute, RouteRegistry } from './routes.ts';

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** Express `/orders/:id` → OpenAPI `/orders/{id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const binary = (types: readonly string[]) =>
  Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]));

function responsesOf(spec: RegisteredRoute['spec']): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] =
      r.binary !== undefined
        ? { description: r.description, content: binary(r.binary) }
        : r.schema === undefined
          ? { description: r.description }
          : { description: r.description, content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } } };
  }
  responses.default = {
    description: 'An error (RFC 9457)',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
  return responses;
}

/** JSON from its schema, or the raw bytes an upload route takes. */
function requestBodyOf(spec: RegisteredRoute['spec']): Record<string, unknown> {
  if (spec.rawBody !== undefined) return { requestBody: { required: true, content: binary(spec.rawBody.types) } };
  if (spec.body === undefined) return {};
  return {
    requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } },
  };
}

export function buildOpenApiDocument(registry: RouteRegistry, serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, path, spec } of registry.routes) {
    const parameters: Record<string, unknown>[] = [];
    for (const name of path.match(/:([A-Za-z0-9_]+)/g) ?? []) {
      parameters.push({ name: name.slice(1), in: 'path', required: true, schema: { type: 'string' } });
    }
    if (spec.query !== undefined) {
      const q = jsonSchema(spec.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: (q.required ?? []).includes(name), schema });
      }
    }
    if (spec.idempotent === true) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: true,
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
    }
    if (spec.versioned === true) {
      parameters.push({
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'The order\'s version as an entity-tag ("3"): the change is made only at that version, else 412',
        schema: { type: 'string', maxLength: 1024 },
      });
    }
    const responses = responsesOf(spec);
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      tags: spec.tags,
      parameters,
      responses,
      ...(spec.auth ? { security: [{ bearer: [] }] } : {}),
      ...requestBodyOf(spec),
    };
    const key = toOpenApiPath(path);
    paths[key] = { ...paths[key], [method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fulcrum',
      version: '0.1.0',
      description: 'E-commerce backend: catalog, orders, payments through Stripe Checkout, live updates.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problemSchema },
    },
    paths,
  };
}

const docsHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fulcrum API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

const initJs = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });`;

/** `/openapi.json` and `/docs` (Swagger UI served from the installed package: no CDN). */
export function docsRouter(document: () => Record<string, unknown>): Router {
  const router = express.Router();
  const require = createRequire(import.meta.url);
  const assets = dirname(require.resolve('swagger-ui-dist/package.json'));
  let cached: Record<string, unknown> | undefined;
  router.get('/openapi.json', (_req, res) => {
    cached ??= document();
    res.json(cached);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(docsHtml);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(initJs);
  });
  router.use('/docs/assets', express.static(assets, { index: false, fallthrough: false }));
  return router;
}
