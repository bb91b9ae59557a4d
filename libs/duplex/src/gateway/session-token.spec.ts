import { describe, expect, it } from '@jest/globals';
import { SessionToken } from './session-token';

describe('SessionToken', () => {
  const tokens = new SessionToken('secret');

  it('verifies what it signed', () => {
    expect(tokens.verify(tokens.sign('abc-123'))).toBe('abc-123');
  });

  it.each([
    ['another secret', new SessionToken('other').sign('abc-123')],
    ['a tampered id', tokens.sign('abc-123').replace('abc', 'abd')],
    ['no signature', 'abc-123'],
    ['not a string', 42],
    ['an oversized token', 'x'.repeat(1000)],
  ])('rejects %s', (_, token) => {
    expect(tokens.verify(token)).toBeNull();
  });
});
