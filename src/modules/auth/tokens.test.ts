import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../shared/errors.ts';
import { manualClock } from '../../shared/clock.ts';
import { ACCESS_TOKEN_TTL_SECONDS, createTokenService } from './tokens.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error.code;
  }
  assert.fail('the token was accepted');
}

// A process remembers the tokens it verified (no second HMAC for the same bytes): what it remembers must never let
// through a token that verifying again would refuse.
describe('access tokens: verified once, remembered until they expire', () => {
  it('a token used and remembered still expires at its exp, to the second', async () => {
    const clock = manualClock(new Date('2026-03-01T12:00:00Z'));
    const tokens = createTokenService(SECRET, clock);
    const token = await tokens.issueAccessToken({ id: 'usr_1', role: 'customer' });
    assert.deepEqual(await tokens.verifyAccessToken(token), { id: 'usr_1', role: 'customer' });
    clock.advance(ACCESS_TOKEN_TTL_SECONDS * 1000 - 1000);
    assert.deepEqual(await tokens.verifyAccessToken(token), { id: 'usr_1', role: 'customer' }, 'a second before');
    clock.advance(1000);
    assert.equal(await refusal(tokens.verifyAccessToken(token)), 'token_expired');
    assert.equal(await refusal(tokens.verifyAccessToken(token)), 'token_expired', 'and stays refused');
  });

  it('a remembered token changed by one character, or signed with another secret, is refused', async () => {
    const clock = manualClock(new Date('2026-03-01T12:00:00Z'));
    const tokens = createTokenService(SECRET, clock);
    const token = await tokens.issueAccessToken({ id: 'usr_2', role: 'customer' });
    await tokens.verifyAccessToken(token);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(await refusal(tokens.verifyAccessToken(token.slice(0, -1) + last)), 'unauthorized');
    const other = createTokenService('another-secret-of-at-least-thirty-two-chars', clock);
    const foreign = await other.issueAccessToken({ id: 'usr_2', role: 'admin' });
    assert.equal(await refusal(tokens.verifyAccessToken(foreign)), 'unauthorized');
  });

  it('what a caller does to the actor it got does not change what the next use gets', async () => {
    const tokens = createTokenService(SECRET, manualClock(new Date('2026-03-01T12:00:00Z')));
    const token = await tokens.issueAccessToken({ id: 'usr_3', role: 'customer' });
    const first = await tokens.verifyAccessToken(token);
    (first as { role: string }).role = 'admin';
    assert.deepEqual(await tokens.verifyAccessToken(token), { id: 'usr_3', role: 'customer' });
  });
});
