import { describe, expect, it } from '@jest/globals';
import { DuplexOptionsError, resolveOptions } from './duplex-options';

const BROKER = { AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672', DUPLEX_SECRET: 's' };

describe('resolveOptions', () => {
  it('takes an option given in code first, else its environment variable, else the default', () => {
    const env = { SESSION_GRACE_MS: '7000', HEARTBEAT_MS: '500', STATE_RETENTION: '1h' };
    const resolved = resolveOptions({ sessionGraceMs: 2_000 }, env);
    expect(resolved).toMatchObject({ sessionGraceMs: 2_000, heartbeatMs: 500, heartbeatTimeoutMs: 3_000, state: { retention: '1h', snapshotEvery: 1_000 } });
    expect(resolved.amqp).toBeNull(); // no broker: one node on the memory bus
  });

  it('reads every broker setting from one place', () => {
    const env = { ...BROKER, AMQP_PREFIX: 'p', AMQP_MAX_BACKOFF_MS: '900', AMQP_INBOX_TTL_MS: '30000' };
    expect(resolveOptions({}, env).amqp).toEqual({ urls: [BROKER.AMQP_URL], prefix: 'p', maxBackoffMs: 900, inboxTtlMs: 30_000 });
    expect(resolveOptions({ amqp: { prefix: 'q' } }, BROKER).amqp).toMatchObject({ prefix: 'q', maxBackoffMs: 5_000, inboxTtlMs: 60_000 });
  });

  it('takes the brokers of a cluster as a comma-separated AMQP_URL or an array', () => {
    const env = { ...BROKER, AMQP_URL: 'amqp://a:5672, amqp://b:5673,amqps://c' };
    expect(resolveOptions({}, env).amqp?.urls).toEqual(['amqp://a:5672', 'amqp://b:5673', 'amqps://c']);
    expect(resolveOptions({ amqp: { url: ['amqp://x', 'amqp://y'] } }, BROKER).amqp?.urls).toEqual(['amqp://x', 'amqp://y']);
  });

  it('refuses a broker address that is not an AMQP URL at start-up, naming it without its password', () => {
    expect(() => resolveOptions({}, { ...BROKER, AMQP_URL: 'amqp://a,localhost:5672' })).toThrow(/amqp.url \(AMQP_URL\): "localhost:5672" is not an amqp:\/\/ or amqps:\/\/ URL/);
    expect(() => resolveOptions({ amqp: { url: 'http://u:secret@h' } }, BROKER)).toThrow(/amqp.url: "http:\/\/u:\*\*\*@h\/" is not/);
  });

  it('runs alone with amqp: false, whatever AMQP_URL says', () => {
    expect(resolveOptions({ amqp: false }, BROKER).amqp).toBeNull();
  });

  it('refuses values that are not numbers, naming the option and its variable', () => {
    expect(() => resolveOptions({}, { SESSION_GRACE_MS: 'soon' })).toThrow(/sessionGraceMs \(SESSION_GRACE_MS\) is "soon"/);
    expect(() => resolveOptions({ callbackTimeoutMs: 0 }, {})).toThrow(DuplexOptionsError);
  });

  it('refuses options that do not make sense together, listing every problem at once', () => {
    let error: DuplexOptionsError | undefined;
    try {
      resolveOptions({ heartbeatMs: 1_000, heartbeatTimeoutMs: 1_500, amqp: { inboxTtlMs: 1_000 } }, { AMQP_URL: BROKER.AMQP_URL });
    } catch (e) {
      error = e as DuplexOptionsError;
    }
    expect(error).toBeInstanceOf(DuplexOptionsError);
    expect(error!.problems).toHaveLength(3);
    expect(error!.message).toMatch(/at least twice heartbeatMs/);
    expect(error!.message).toMatch(/needs secret \(DUPLEX_SECRET\)/);
    expect(error!.message).toMatch(/inboxTtlMs \(1000\) must exceed heartbeatTimeoutMs \(1500\)/);
  });

  it('needs no secret for a node alone, and then picks a random one', () => {
    const a = resolveOptions({}, {});
    const b = resolveOptions({}, {});
    expect(a.secret).not.toBe(b.secret);
  });
});
