import type { Request, Response } from 'express';
import { invalid } from '../shared/errors.ts';

/**
 * What a request's `If-Match` asks of the version of the resource it changes (RFC 9110 § 13.1.1):
 * `undefined` when absent (no condition), `'any'` for `*`, otherwise the versions it names.
 * Strong comparison: a weak tag (`W/"3"`) or one that is not a version number matches nothing.
 */
export type VersionCondition = undefined | 'any' | readonly number[];

// One entity-tag: optional W/, then a quoted run of etagc (no DQUOTE, no control characters, no space).
const entityTag = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

/** Parses `If-Match`; a header that is not `*` or a list of entity-tags is 400 validation_failed. */
export function parseIfMatch(header: string | undefined): VersionCondition {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return 'any';
  const versions: number[] = [];
  const parts = value.split(',').map((p) => p.trim());
  for (const part of parts) {
    const match = entityTag.exec(part);
    if (match === null) {
      throw invalid(
        [{ path: 'headers.If-Match', message: 'must be * or entity-tags such as "3"' }],
        'The If-Match header is malformed.',
      );
    }
    const [, weak, tag] = match;
    if (weak === undefined && /^[1-9][0-9]{0,9}$/.test(tag!)) versions.push(Number(tag));
  }
  return versions;
}

/** The request's If-Match condition (400 validation_failed when malformed). */
export function ifMatchOf(req: Request): VersionCondition {
  return parseIfMatch(req.get('if-match'));
}

/** True when a resource at `version` satisfies the condition. */
export function versionMatches(condition: VersionCondition, version: number): boolean {
  if (condition === undefined || condition === 'any') return true;
  return condition.includes(version);
}

/** `ETag: "<version>"` on a response carrying the resource. */
export function setVersionTag(res: Response, version: number): void {
  res.setHeader('ETag', `"${version}"`);
}

/**
 * A versioned resource as JSON with `ETag: "<version>"`, for `If-Match`. The tag is not a validator for
 * caches: an order's payment can change while its version stays, so the answer is `no-store` and a
 * conditional GET (`If-None-Match`) is answered in full, never 304 — `res.json` would answer 304 to a
 * matching `If-None-Match` and a browser would show the order as it was (seen: a declined payment shown as
 * no payment at all).
 */
export function sendVersioned(res: Response, version: number, body: unknown): void {
  setVersionTag(res, version);
  res.setHeader('Cache-Control', 'no-store');
  res.type('application/json').end(JSON.stringify(body));
}
