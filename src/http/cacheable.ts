import type { Request, Response } from 'express';

/**
 * What public catalog answers carry (docs/api.md § Caching): any cache may keep them — they do not depend on who
 * asks — but must ask again before each use, which costs a `304` when nothing changed. So an admin's change is
 * seen at the next read, never after a max-age.
 */
export const REVALIDATE = 'public, max-age=0, must-revalidate';

/**
 * True when `If-None-Match` names `etag` (weak comparison, RFC 9110 § 13.1.2: `W/` is ignored) or is `*`.
 * A header that is not a list of entity-tags matches nothing: the full answer is sent.
 */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = header.trim();
  if (value === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return value.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

/**
 * A JSON answer already serialized, with its strong `ETag` and `Cache-Control`; `304 Not Modified` (no body)
 * when the request's `If-None-Match` names that ETag. Only for answers that are the same for everyone.
 * The body goes out as it is kept, with its type and length set here: Express's `send` would parse and rebuild
 * the Content-Type, look for an ETag and test freshness again on every read of the catalog (issue 11). A HEAD
 * request gets the headers alone (Node's response drops the body).
 */
export function sendCacheable(
  req: Request,
  res: Response,
  answer: { etag: string; body: string },
  cacheControl = REVALIDATE,
): void {
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('ETag', answer.etag);
  if (noneMatchHits(req.get('if-none-match'), answer.etag)) {
    res.status(304).end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.end(answer.body);
}
