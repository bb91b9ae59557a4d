import { connectDuplex, connectSocketIo } from './clients';
import { relayContract } from './relay/relay.contract';
import { now } from './stats';
import type { SystemKind } from './subscribers';

export const PAYLOAD_BYTES = 128;

/** A payload of `bytes` (PAYLOAD_BYTES by default) that starts with its send time, as subscribers.ts reads it. */
export function payload(bytes = PAYLOAD_BYTES): string {
  const head = `${now().toFixed(3)}|`;
  return head + 'x'.repeat(bytes - head.length);
}

export interface Publisher {
  publish(topic: string, bytes?: number): void;
  /** Publishes the publisher could not hand over (a refused call, a closed socket). */
  readonly failures: number;
  close(): void;
}

export async function connectPublisher(kind: SystemKind, url: string): Promise<Publisher> {
  let failures = 0;
  if (kind === 'duplex') {
    const client = await connectDuplex(url);
    const relay = client.service(relayContract, { message: () => undefined });
    return {
      publish: (topic, bytes) => void relay.publish(topic, payload(bytes)).catch(() => failures++),
      get failures() {
        return failures;
      },
      close: () => client.close(),
    };
  }
  const socket = await connectSocketIo(url);
  return {
    publish: (topic, bytes) => (socket.connected ? socket.emit('publish', topic, payload(bytes)) : failures++),
    get failures() {
      return failures;
    },
    close: () => socket.close(),
  };
}

/** Calls `send` `rate` times a second, evenly, for `durationMs`. Answers when it sent the last. */
export function pace(rate: number, durationMs: number, send: () => void): Promise<{ sent: number; lastSend: number }> {
  return new Promise((resolve) => {
    const started = now();
    let sent = 0;
    const total = Math.round((rate * durationMs) / 1000);
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate) + 1);
      while (sent < due) {
        send();
        sent++;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve({ sent, lastSend: now() });
      }
    };
    const timer = setInterval(tick, 2);
    tick();
  });
}
