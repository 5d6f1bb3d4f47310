import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const sane = /^[A-Za-z0-9._:-]{1,128}$/;

/** A sane incoming X-Request-Id, otherwise a new one. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && sane.test(incoming) ? incoming : randomUUID();
}

/** Echoes a sane incoming X-Request-Id, otherwise makes one. */
export const requestId: RequestHandler = (req, res, next) => {
  const id = requestIdFor(req.get('X-Request-Id'));
  res.locals.requestId = id;
  res.setHeader('X-Request-Id', id);
  next();
};
