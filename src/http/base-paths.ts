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
export function byBasePath(mounts: readonly (readonly [string, Router])[]): RequestHandler & { routers: Router[] } {
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
    // The prefix being tried (path.slice(0, end)), its routers and the next one to call: stepped through as each
    // router passes the request on, so nothing is looked up beyond the router that answers.
    let end = path.length;
    let group = groups.get(path);
    let i = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null) return next(error);
      while (group === undefined || i === group.length) {
        if (end === 0) return next();
        end = Math.max(0, path.lastIndexOf('/', end - 1)); // 0: '' (a path always starts with '/')
        group = groups.get(path.slice(0, end));
        i = 0;
      }
      group[i++]!(req, res, step);
    };
    step();
  };
  return Object.assign(dispatch, { routers: mounts.map(([, router]) => router) });
}
