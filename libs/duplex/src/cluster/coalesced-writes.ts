import type { Writable } from 'node:stream';

/**
 * Makes everything written to `stream` in one turn of the event loop leave in
 * one write. amqplib hands the socket each publish's frames as a write of its
 * own, so publishes raised by one batch of incoming calls cost a write(2)
 * each, and each wakes the broker; corked until the turn ends, they cost one.
 * Order is kept, and a write still reports backpressure once the corked bytes
 * pass the stream's high-water mark.
 */
export function coalesceWrites(stream: Writable): void {
  const write = stream.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>) {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Writable['write'];
}
