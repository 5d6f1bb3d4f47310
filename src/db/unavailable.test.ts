import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDatabaseUnavailable } from './unavailable.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('is true for a server that went away or cannot be reached', () => {
    for (const error of [
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P02'),
      withCode('57P03', 'the database system is starting up'),
      withCode('53300', 'sorry, too many clients already'),
      withCode('08006'),
      withCode('08001'),
      withCode('ECONNREFUSED', 'connect ECONNREFUSED'),
      withCode('ECONNRESET'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      new AggregateError([withCode('ECONNREFUSED')], 'connect failed'),
      new Error('rollback failed', { cause: new Error('Connection terminated unexpectedly') }),
    ]) {
      assert.equal(isDatabaseUnavailable(error), true, String(error));
    }
  });

  it('is false for errors of the request or of the code', () => {
    for (const error of [
      withCode('23505', 'duplicate key value violates unique constraint'),
      withCode('42601', 'syntax error at or near'),
      withCode('40001', 'could not serialize access'),
      withCode('57014', 'canceling statement due to statement timeout'),
      withCode('0800'), // not a SQLSTATE
      new Error('terminated connection'), // not node-postgres's message
      new TypeError('Cannot read properties of undefined'),
      'Connection terminated',
      null,
      undefined,
      42,
    ]) {
      assert.equal(isDatabaseUnavailable(error), false, String(error));
    }
  });

  it('stops at a cycle of causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(isDatabaseUnavailable(a), false);
  });
});
