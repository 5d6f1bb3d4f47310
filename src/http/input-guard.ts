import type { Request, RequestHandler } from 'express';
import { invalid, type FieldProblem } from '../shared/errors.ts';

/**
 * What every route refuses before its own schema looks at the input (docs/api.md § Conventions, "strings"):
 *
 * - a string or a key with the NUL character: PostgreSQL cannot store it in `text` or `jsonb`;
 * - a string or a key that is not well-formed Unicode (a lone surrogate, `"\ud800"`): it cannot be encoded as
 *   UTF-8 without being silently changed, and `jsonb` refuses it;
 * - JSON nested deeper than MAX_JSON_DEPTH: no request of this API needs more than a few levels, and code that
 *   walks a value recursively (the idempotency fingerprint, the schemas) must not meet thousands.
 *
 * The walk is iterative, so a hostile value cannot exhaust the stack here either.
 */
export const MAX_JSON_DEPTH = 32;

const NUL = '\u0000';

/** Why a string is refused, or undefined when it is fine. */
export function stringProblem(value: string): string | undefined {
  if (value.includes(NUL)) return 'must not contain the NUL character (U+0000)';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (it holds a lone surrogate)';
  return undefined;
}

/**
 * True when `value` is an object of strings and scalars only (no nesting) whose keys and strings are all fine:
 * the usual path parameters and query, screened without the walk's allocations. False says nothing either way.
 */
function flatAndClean(value: object): boolean {
  for (const key of Object.keys(value)) {
    if (stringProblem(key) !== undefined) return false;
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'string') {
      if (stringProblem(child) !== undefined) return false;
    } else if (child !== null && typeof child === 'object') return false;
  }
  return true;
}

/** The first problem in `value` (strings, keys, depth), with its path under `where`; undefined when none. */
export function findInputProblem(value: unknown, where: string, maxDepth = MAX_JSON_DEPTH): FieldProblem | undefined {
  if (value === undefined || value === null) return undefined;
  if (maxDepth > 0 && typeof value === 'object' && flatAndClean(value)) return undefined;
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: where, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      const problem = stringProblem(item.value);
      if (problem !== undefined) return { path: item.path, message: problem };
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= maxDepth) {
      return { path: item.path, message: `is nested too deeply (more than ${maxDepth} levels)` };
    }
    for (const [key, child] of Object.entries(item.value)) {
      const keyProblem = stringProblem(key);
      // The key itself is not safe to echo: the path ends at its parent.
      if (keyProblem !== undefined) return { path: item.path, message: `has a key that ${keyProblem}` };
      stack.push({ value: child, path: `${item.path}.${key}`, depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** Path, query and JSON body of a routed request, screened before authentication, idempotency and schemas. */
export function assertCleanInput(req: Request): void {
  const problems: FieldProblem[] = [];
  for (const [where, value] of [
    ['params', req.params],
    ['query', req.query],
    ['body', Buffer.isBuffer(req.body) ? undefined : req.body],
  ] as const) {
    const problem = findInputProblem(value, where);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw invalid(problems);
}

/** assertCleanInput as middleware (raw-body routes; JSON routes screen in routes.ts's jsonInput). */
export const screenInput: RequestHandler = (req, _res, next) => {
  assertCleanInput(req);
  next();
};
