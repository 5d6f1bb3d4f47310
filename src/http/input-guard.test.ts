import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findInputProblem } from './input-guard.ts';

// The walk's shortcut for flat objects (path parameters, queries) must find what the walk finds.
describe('findInputProblem', () => {
  it('passes flat objects of fine strings and scalars, and nothing at all', () => {
    assert.equal(findInputProblem({ id: 'prd_1', limit: '5', n: 3, on: true, none: null }, 'query'), undefined);
    assert.equal(findInputProblem({}, 'params'), undefined);
    assert.equal(findInputProblem(undefined, 'body'), undefined);
  });

  it('names the field of a bad string in a flat object, and the parent of a bad key', () => {
    assert.deepEqual(findInputProblem({ a: 'fine', id: 'x\u0000y' }, 'params'), {
      path: 'params.id',
      message: 'must not contain the NUL character (U+0000)',
    });
    assert.deepEqual(findInputProblem({ q: '\ud800' }, 'query'), {
      path: 'query.q',
      message: 'must be well-formed Unicode (it holds a lone surrogate)',
    });
    assert.deepEqual(findInputProblem({ ['k\u0000']: 'v' }, 'query'), {
      path: 'query',
      message: 'has a key that must not contain the NUL character (U+0000)',
    });
  });

  it('walks nested values, and a flat object is too deep where no level is allowed', () => {
    assert.equal(findInputProblem({ a: { b: ['c', { d: 'e\u0000' }] } }, 'body')?.path, 'body.a.b.1.d');
    assert.equal(findInputProblem({ a: { b: 'fine' } }, 'body'), undefined);
    assert.deepEqual(findInputProblem({ a: 'flat' }, 'body', 0), {
      path: 'body',
      message: 'is nested too deeply (more than 0 levels)',
    });
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i += 1) deep = { n: deep };
    assert.match(findInputProblem(deep, 'body')?.message ?? '', /nested too deeply/);
  });

  it('screens a top-level string as the walk did', () => {
    assert.equal(findInputProblem('a\u0000', 'body')?.path, 'body');
    assert.equal(findInputProblem('fine', 'body'), undefined);
  });
});
