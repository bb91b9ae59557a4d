import { describe, expect, it } from '@jest/globals';
import { SessionToken } from './session-token';

describe('SessionToken', () => {
  const tokens = new SessionToken('secret');

  it('verifies what it signed: the session and the generation', () => {
    expect(tokens.verify(tokens.sign('abc-123', 7))).toEqual({ sessionId: 'abc-123', generation: 7 });
  });

  it.each([
    ['another secret', new SessionToken('other').sign('abc-123', 1)],
    ['a tampered id', tokens.sign('abc-123', 1).replace('abc', 'abd')],
    ['a tampered generation', tokens.sign('abc-123', 1).replace('.1.', '.2.')],
    ['a token of protocol version 2 (no generation)', 'abc-123.c2lnbmF0dXJl'],
    ['no signature', 'abc-123'],
    ['not a string', 42],
    ['an oversized token', 'x'.repeat(1000)],
  ])('rejects %s', (_, token) => {
    expect(tokens.verify(token)).toBeNull();
  });
});
