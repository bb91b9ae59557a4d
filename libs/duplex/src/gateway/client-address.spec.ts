import { describe, expect, it } from '@jest/globals';
import { clientAddress } from './client-address';

describe('clientAddress', () => {
  it('is the peer unless proxies are trusted, whatever the header says', () => {
    expect(clientAddress('10.0.0.9', { 'x-forwarded-for': '6.6.6.6' }, 0)).toBe('10.0.0.9');
  });

  it('takes the entry the trusted proxies appended, not what the client wrote before them', () => {
    expect(clientAddress('10.0.0.9', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }, 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.9', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.0.0.2' }, 2)).toBe('203.0.113.7');
  });

  it('falls back to the peer when the request did not pass through every trusted proxy', () => {
    expect(clientAddress('10.0.0.9', {}, 1)).toBe('10.0.0.9');
    expect(clientAddress('10.0.0.9', { 'x-forwarded-for': '203.0.113.7' }, 2)).toBe('10.0.0.9');
  });
});
