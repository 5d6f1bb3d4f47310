import type { RequestHandler, Router } from 'express';

/**
 * The modules' routers, found by the request's base path with one lookup per segment of its path rather than by
 * walking past every module's mount (issue 11: GET /api/v1/products/:id used to pass the operations router's
 * three routes and auth's three mounts first). Their routes carry whole paths (defineRoutes), so a router is
 * called as it is. The routers of one base path are tried in definition order; a request tries its longest base
 * path first and, if nothing there answers, the shorter ones (the operations routes' '' last). No base path may
 * lie under another but '' (checked here: it throws), so this is the order Express's own walk past mounts would
 * answer in. `routers` lets a walk over Express's table (the OpenAPI test) reach every route.
 */
export function byBasePath(mounts: [string, Router][]): RequestHandler & { routers: Router[] } {
  for (const [outer] of mounts) {
    const nested = mounts.find(([inner]) => outer !== '' && inner.startsWith(`${outer}/`));
    if (nested !== undefined) throw new Error(`base path ${nested[0]} lies under ${outer}: give it a path of its own`);
  }
  const groups = new Map<string, Router[]>();
  for (const [path, router] of mounts) {
    const group = groups.get(path);
    if (group === undefined) groups.set(path, [router]);
    else group.push(router);
  }
  const dispatch: RequestHandler = (req, res, next) => {
    const path = req.path;
    const found: Router[] = [];
    for (let end = path.length; ; end = path.lastIndexOf('/', end - 1)) {
      const group = groups.get(path.slice(0, end));
      if (group !== undefined) found.push(...group);
      if (end <= 0) break;
    }
    let i = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null) return next(error);
      const router = found[i++];
      if (router === undefined) return next();
      router(req, res, step);
    };
    step();
  };
  return Object.assign(dispatch, { routers: mounts.map(([, router]) => router) });
}
