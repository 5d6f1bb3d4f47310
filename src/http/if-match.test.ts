import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../shared/errors.ts';
import { parseIfMatch, versionMatches } from './if-match.ts';

describe('If-Match', () => {
  it('absent is no condition; * is any version; a list names versions', () => {
    assert.equal(parseIfMatch(undefined), undefined);
    assert.equal(parseIfMatch('*'), 'any');
    assert.deepEqual(parseIfMatch('"3"'), [3]);
    assert.deepEqual(parseIfMatch(' "3" , "17"'), [3, 17]);
    assert.ok(versionMatches(undefined, 9));
    assert.ok(versionMatches('any', 9));
    assert.ok(versionMatches([3, 17], 17));
    assert.ok(!versionMatches([3, 17], 4));
  });

  it('weak tags and tags that are not versions are well-formed but match nothing (strong comparison)', () => {
    assert.deepEqual(parseIfMatch('W/"3"'), []);
    assert.deepEqual(parseIfMatch('"abc"'), []);
    assert.deepEqual(parseIfMatch('"0"'), []);
    assert.deepEqual(parseIfMatch('"03"'), []);
    assert.deepEqual(parseIfMatch('""'), []);
    assert.ok(!versionMatches(parseIfMatch('W/"3"'), 3));
  });

  for (const header of ['3', '"3', '3"', '"3" "4"', '"3",', '', 'W/3', "'3'", '"a b"', '**']) {
    it(`refuses the malformed header ${JSON.stringify(header)} with validation_failed at headers.If-Match`, () => {
      assert.throws(
        () => parseIfMatch(header),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === 'validation_failed' &&
          error.errors?.[0]?.path === 'headers.If-Match',
      );
    });
  }
});
