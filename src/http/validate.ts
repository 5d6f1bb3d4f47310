import type { Request } from 'express';
import { z } from 'zod';
import { invalid, type FieldProblem } from '../shared/errors.ts';

function problemsOf(error: z.ZodError, where: string): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    const base = [where, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: base === '' ? key : `${base}.${key}`, message: 'unknown field' });
    } else {
      out.push({ path: base, message: issue.message });
    }
  }
  return out;
}

/** Parses input with a zod schema; failure is 400 validation_failed listing every problem. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  data: unknown,
  where: 'body' | 'query' | 'params',
): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw invalid(problemsOf(result.error, where));
  return result.data;
}

/** Rejects a query string that repeats a parameter (`?status=a&status=b`): ambiguity is an error, not a guess. */
export function singleValuedQuery(req: Request): Record<string, string> {
  const query = req.query as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  // Without a prototype, so `?__proto__=x` stays a key (and is refused as unknown) instead of vanishing.
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string') out[key] = value;
    else problems.push({ path: `query.${key}`, message: 'must be given once' });
  }
  if (problems.length > 0) throw invalid(problems);
  return out;
}

/** Shared request pieces. */
export const listQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
};
