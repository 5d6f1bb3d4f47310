import type { Request, RequestHandler } from 'express';
import type { Actor } from '../shared/actor.ts';
import { unauthorized } from '../shared/errors.ts';

const actors = new WeakMap<Request, Actor>();

export type VerifyAccessToken = (token: string) => Promise<Actor>;

/** Requires `Authorization: Bearer <jwt>`; the verified actor is read back with actorOf(req). */
export function createAuthenticate(verify: VerifyAccessToken): RequestHandler {
  return async (req, _res, next) => {
    const header = req.get('Authorization');
    const match = header === undefined ? null : /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (match?.[1] === undefined) throw unauthorized('A bearer access token is required.');
    actors.set(req, await verify(match[1]));
    next();
  };
}

export function actorOf(req: Request): Actor {
  const actor = actors.get(req);
  if (actor === undefined) throw unauthorized();
  return actor;
}
