import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { AppError, unauthorized } from '../shared/errors.ts';

/**
 * Who may read /metrics (docs/operations.md § Metrics): with METRICS_TOKEN, a request bearing it; without it, anyone
 * outside production and nobody in production (404, as if the route did not exist). The counts it exports
 * (payments by status, inbox depth, sockets) are not for the public.
 */
export function metricsAccess(config: Pick<Config, 'METRICS_TOKEN' | 'NODE_ENV'>): RequestHandler {
  const token = config.METRICS_TOKEN;
  if (token === undefined) {
    const open = config.NODE_ENV !== 'production';
    return (req, _res, next) => {
      if (!open) throw new AppError('not_found', 'not_found', `No route for ${req.method} ${req.path}.`);
      next();
    };
  }
  // Compared as digests, so neither the length nor the content leaks through timing.
  const expected = createHash('sha256').update(token).digest();
  return (req, res, next) => {
    const match = /^Bearer (\S+)$/.exec(req.get('Authorization') ?? '');
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    if (match === null || !timingSafeEqual(given, expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw unauthorized('/metrics needs Authorization: Bearer <METRICS_TOKEN>.');
    }
    next();
  };
}
