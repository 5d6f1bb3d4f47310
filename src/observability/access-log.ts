import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from './logger.ts';

const STATIC = Symbol('static file');

/** Marks an answer as a file of web/ (express.static's setHeaders), logged at debug. */
export function markStatic(res: object): void {
  (res as { [STATIC]?: boolean })[STATIC] = true;
}

/** A file of web/ (pages, scripts, images) or of the API docs (/docs): not worth an info line each. */
function isStaticFile(req: Request, res: Response): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return (res as { [STATIC]?: boolean })[STATIC] === true || req.path === '/docs' || req.path.startsWith('/docs/');
}

/** The first admin's setup token may come in the admin page's address (`/admin?setup=…`): never logged. */
export function loggableUrl(url: string): string {
  return url.replace(/([?&]setup=)[^&#]*/gi, '$1[redacted]');
}

/**
 * One line per answer once it is sent: info, or debug for static files. Below info (LOG_LEVEL warn or error) no
 * line is ever written, and the request is left alone: no clock read, no listener.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (!logger.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const level = isStaticFile(req, res) ? 'debug' : 'info';
      logger[level](
        {
          reqId: res.getHeader('X-Request-Id'),
          method: req.method,
          url: loggableUrl(req.originalUrl),
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  };
}
