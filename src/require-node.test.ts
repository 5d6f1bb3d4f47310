import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeVersionProblem, REQUIRED_NODE_MAJOR } from './require-node.ts';

describe('the Node version check of the entry points', () => {
  it('accepts Node 24 and newer', () => {
    assert.equal(REQUIRED_NODE_MAJOR, 24);
    for (const version of ['24.0.0', '24.21.0', '25.1.0', '30.0.0']) {
      assert.equal(nodeVersionProblem(version, '/usr/bin/node'), undefined, version);
    }
  });

  it('refuses an older or unreadable version with one line naming the required version and npm start', () => {
    for (const version of ['20.20.2', '22.18.0', '23.11.1', 'garbage']) {
      const problem = nodeVersionProblem(version, '/usr/bin/node');
      assert.ok(problem !== undefined, version);
      assert.match(problem, /needs Node 24 or newer/);
      assert.ok(problem.includes(`Node ${version} (/usr/bin/node)`));
      assert.match(problem, /npm start/);
      assert.doesNotMatch(problem, /\n/);
    }
  });
});
