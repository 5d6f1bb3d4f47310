import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors.ts';
import { assertCleanInput, screenInput } from './input-guard.ts';
import { parseInput, singleValuedQuery } from './validate.ts';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** A response of bytes (an image) in one of these types, not JSON. */
  binary?: readonly string[];
}

export interface RouteSpec<
  B extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  P extends z.ZodType | undefined,
> {
  method: Method;
  /** Express path relative to the module's base path, e.g. `/:id/cancel`. */
  path: string;
  summary: string;
  tags: string[];
  /** true: a bearer access token is required (the handler reads it with actorOf). */
  auth: boolean;
  /**
   * With `auth`: the token is verified before the handler as always, but whether its account exists and is
   * enabled is left to the handler, which must check it (auth's assertAccountRow) in its own first statement,
   * before it reads or writes anything else on the caller's behalf. Saves a round trip on a hot route
   * (POST /orders); any route that acts in more than one place must not use it.
   */
  accountCheckedByHandler?: boolean;
  /** true: the route requires an Idempotency-Key header (documented; the middleware enforces it). */
  idempotent?: boolean;
  /** true: the route changes an order and takes an optional If-Match with its version (docs/api.md § Versions). */
  versioned?: boolean;
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, ResponseSpec>;
  /** Middleware run after authentication and before parsing, e.g. idempotency. */
  before?: RequestHandler[];
  /**
   * The route takes raw bytes (an image upload), not JSON: a Content-Type of `types` (else 415) and at most
   * `limit` bytes (else 413), read only after authentication and `before`. The handler finds them in req.body.
   */
  rawBody?: RawBodySpec;
}

export interface RawBodySpec {
  types: readonly string[];
  limit: number;
}

/** Refuses another Content-Type before reading a byte, then reads the body into a Buffer (bounded). */
function rawBodyParsers(raw: RawBodySpec): RequestHandler[] {
  const typeCheck: RequestHandler = (req, _res, next) => {
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!raw.types.includes(type)) {
      throw new AppError('unsupported', 'unsupported_media_type', `Send the body as ${raw.types.join(', ')}.`);
    }
    next();
  };
  return [typeCheck, express.raw({ type: () => true, limit: raw.limit })];
}

export interface RegisteredRoute {
  method: Method;
  /** Full Express path, e.g. `/api/v1/orders/:id`. */
  path: string;
  spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
}

/** The base path of each route defineRoutes made (Express's Route object, `req.route` while it runs). */
const basePathOf = new WeakMap<object, string>();

/**
 * The path a request names as its module's base path and the path within it, `/` for the base path itself —
 * what Express's mounts gave as `req.baseUrl + req.path` when each module's router was mounted at its base path
 * (idempotency records keep it: `POST /api/v1/orders` and `/api/v1/orders/` are one route, `/api/v1/orders/`).
 * Outside a route that defineRoutes made, `req.baseUrl + req.path` as Express gives them.
 */
export function routePathOf(req: Request): string {
  const base = (req.route as object | undefined) === undefined ? undefined : basePathOf.get(req.route as object);
  if (base === undefined) return `${req.baseUrl}${req.path}`;
  return `${base}${req.path.slice(base.length) || '/'}`;
}

/** Every route defined through defineRoutes lands here; /openapi.json is built from it. */
export class RouteRegistry {
  readonly routes: RegisteredRoute[] = [];
  /** The routers that hold API routes (with their whole paths), so a test can walk Express's own table. */
  readonly routers = new Set<Router>();
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Input<B, Q, P> {
  body: Out<B>;
  query: Out<Q>;
  params: Out<P>;
}

export type Handler<B, Q, P> = (input: Input<B, Q, P>, req: Request, res: Response) => Promise<void> | void;

export interface ModuleRoutes {
  router: Router;
  route: <
    B extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    P extends z.ZodType | undefined = undefined,
  >(
    spec: RouteSpec<B, Q, P>,
    handler: Handler<B, Q, P>,
  ) => void;
}

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return (length !== undefined && length !== '0') || req.get('transfer-encoding') !== undefined;
}

/**
 * A body that is not JSON where a route expects JSON is 415, not a silent empty object. Checked per route,
 * so an unknown route stays 404 whatever its body; raw-body routes (webhooks) already hold their bytes. Then the
 * input is screened (assertCleanInput). One layer, not two: every JSON route passes it (issue 11).
 */
const jsonInput: RequestHandler = (req, _res, next) => {
  if (!Buffer.isBuffer(req.body) && hasBody(req) && req.is(['application/json', 'application/*+json']) === false) {
    throw new AppError('unsupported', 'unsupported_media_type', 'Send the body as application/json.');
  }
  assertCleanInput(req);
  next();
};

/** The app's bearer-token middleware, in its two strengths. */
export interface Authenticators {
  /** The token and its account (exists, enabled): every route with `auth`… */
  full: RequestHandler;
  /** …but those with `accountCheckedByHandler`: the token only… */
  tokenOnly: RequestHandler;
  /** …and the account of a request it passed, checked when the request is refused before its handler's read. */
  checkAccount: (req: Request) => Promise<void>;
}

/** `m`, but an error it raises (thrown, rejected or passed to next) goes out only after the account check passed. */
function accountFirstOnError(m: RequestHandler, checkAccount: (req: Request) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    const refuse = (error: unknown): void => {
      checkAccount(req).then(() => next(error), next);
    };
    try {
      const result: unknown = m(req, res, (error?: unknown) => {
        if (error === undefined || error === null || error === 'route' || error === 'router') next(error as undefined);
        else refuse(error);
      });
      if (result instanceof Promise) result.catch(refuse);
    } catch (error) {
      refuse(error);
    }
  };
}

/**
 * A module's router: each route is validated by its zod schemas and documented from the same schemas.
 * `authenticate` is the bearer-token middleware of the app.
 */
export function defineRoutes(registry: RouteRegistry, basePath: string, authenticate: Authenticators): ModuleRoutes {
  // The routes carry their whole path: the app finds a module's router by its base path (app.ts, byBasePath) and
  // calls it without a mount to strip that path first. Paths are case-sensitive, as the app's lookup is.
  const router = express.Router({ mergeParams: false, caseSensitive: true });
  registry.routers.add(router);
  return {
    router,
    route(spec, handler) {
      const path = `${basePath}${spec.path}`.replace(/\/$/, '') || '/';
      registry.routes.push({ method: spec.method, path, spec });
      // NUL, lone surrogates and deep nesting are refused before anything (authentication, idempotency) reads them.
      const chain: RequestHandler[] = [spec.rawBody === undefined ? jsonInput : screenInput];
      const handlerChecks = spec.auth && spec.accountCheckedByHandler === true;
      if (spec.auth) chain.push(handlerChecks ? authenticate.tokenOnly : authenticate.full);
      const early = [...(spec.before ?? []), ...(spec.rawBody === undefined ? [] : rawBodyParsers(spec.rawBody))];
      // A refusal before the handler's first read (a missing Idempotency-Key, a malformed body) is answered only
      // once the account is known to be able to act: 401 keeps its precedence as on every signed-in route.
      chain.push(...(handlerChecks ? early.map((m) => accountFirstOnError(m, authenticate.checkAccount)) : early));
      const parse = (req: Request) => {
        const query = singleValuedQuery(req);
        const input = {
          body: spec.body === undefined ? undefined : parseInput(spec.body, req.body ?? {}, 'body'),
          query: spec.query === undefined ? undefined : parseInput(spec.query, query, 'query'),
          params: spec.params === undefined ? undefined : parseInput(spec.params, req.params, 'params'),
        };
        // A route that takes no body accepts none or `{}`; anything else (a key, an array — even `[]`) is refused.
        if (
          spec.body === undefined &&
          spec.rawBody === undefined &&
          req.body !== undefined &&
          (Array.isArray(req.body) || Object.keys(req.body as object).length > 0)
        ) {
          parseInput(z.strictObject({}), req.body, 'body');
        }
        if (spec.query === undefined && Object.keys(query).length > 0) {
          parseInput(z.strictObject({}), query, 'query');
        }
        return input;
      };
      chain.push(async (req, res) => {
        let input;
        try {
          input = parse(req);
        } catch (error) {
          if (handlerChecks) await authenticate.checkAccount(req);
          throw error;
        }
        await handler(input as never, req, res);
      });
      const route = router.route(path);
      basePathOf.set(route, basePath);
      route[spec.method](...chain);
    },
  };
}
