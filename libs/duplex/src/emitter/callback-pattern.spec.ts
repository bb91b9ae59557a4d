import { describe, expect, it } from '@jest/globals';
import { parseCallbackPacket } from './callback-pattern';
import { resolveEmitterOptions } from './emitter-options';

describe('parseCallbackPacket', () => {
  const told = { service: 'echo', method: 'told' };

  it('addresses a session, a user (through its own topic) or a topic, with the data as the arguments', () => {
    expect(parseCallbackPacket({ ...told, session: 's1' }, ['hi'])).toEqual({
      target: { kind: 'session', sessionId: 's1' },
      frame: { service: 'echo', method: 'told', args: ['hi'] },
      timeoutMs: undefined,
    });
    expect(parseCallbackPacket({ ...told, user: 'ada' }, []).target).toEqual({ kind: 'topic', topic: '~user:ada' });
    expect(parseCallbackPacket({ ...told, topic: 'show.x', timeoutMs: 50 }, []).target).toEqual({ kind: 'topic', topic: 'show.x' });
  });

  it('refuses, as BAD_REQUEST, a pattern without service and method, with no or two targets, or data that is not an array', () => {
    for (const [pattern, data] of [
      ['echo.told', []],
      [{ service: 'echo' }, []],
      [told, []],
      [{ ...told, session: 's', topic: 't' }, []],
      [{ ...told, session: '' }, []],
      [{ ...told, user: 7 }, []],
      [{ ...told, session: 's' }, 'hi'],
      [{ ...told, session: 's', timeoutMs: -1 }, []],
    ] as const) {
      expect(() => parseCallbackPacket(pattern, data)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });

  it("keeps the framework's topics to the framework", () => {
    expect(() => parseCallbackPacket({ ...told, topic: '~user:ada' }, [])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENTS' }));
  });
});

describe('resolveEmitterOptions', () => {
  it('takes the broker and timeout from code, else the environment', () => {
    const env = { AMQP_URL: 'amqp://b', AMQP_PREFIX: 'p', CALLBACK_TIMEOUT_MS: '700', HEARTBEAT_TIMEOUT_MS: '900' };
    expect(resolveEmitterOptions({ id: 'w' }, env)).toEqual({ id: 'w', callbackTimeoutMs: 700, heartbeatTimeoutMs: 900, amqp: expect.objectContaining({ urls: ['amqp://b'], prefix: 'p' }) });
    expect(resolveEmitterOptions({ amqp: { url: 'amqp://c', prefix: 'q' }, callbackTimeoutMs: 5 }, env)).toMatchObject({ callbackTimeoutMs: 5, amqp: { urls: ['amqp://c'], prefix: 'q' } });
  });

  it('refuses to start without a broker, or with a timeout that is not a number, saying so', () => {
    expect(() => resolveEmitterOptions({}, {})).toThrow(/invalid DuplexEmitter options:\n- a DuplexEmitter needs the cluster's broker: amqp.url \(AMQP_URL\)/);
    expect(() => resolveEmitterOptions({}, { AMQP_URL: 'amqp://b', CALLBACK_TIMEOUT_MS: 'soon' })).toThrow(/callbackTimeoutMs \(CALLBACK_TIMEOUT_MS\) is "soon"/);
  });
});
