import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { coalesceWrites } from './coalesced-writes';

/** A stream that records what reaches its sink, one entry per write the sink got. */
function sink(highWaterMark = 16_384) {
  const batches: string[][] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      batches.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      batches.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      done();
    },
  });
  coalesceWrites(stream);
  return { stream, batches };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesceWrites', () => {
  it('sends what one turn wrote as one write, in order', async () => {
    const { stream, batches } = sink();
    stream.write('a');
    stream.write('b');
    stream.write('c');
    expect(batches).toEqual([]);
    await turn();
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('keeps writes of different turns apart', async () => {
    const { stream, batches } = sink();
    stream.write('a');
    await turn();
    stream.write('b');
    await turn();
    expect(batches).toEqual([['a'], ['b']]);
  });

  it('still reports backpressure past the high-water mark, and drains', async () => {
    const { stream, batches } = sink(4);
    expect(stream.write('ab')).toBe(true);
    expect(stream.write('cdef')).toBe(false);
    await new Promise((resolve) => stream.once('drain', resolve));
    expect(batches.flat().join('')).toBe('abcdef');
  });

  it('calls each write callback once its bytes are written', async () => {
    const { stream } = sink();
    const done: string[] = [];
    stream.write('a', () => done.push('a'));
    stream.write('b', () => done.push('b'));
    await turn();
    await turn();
    expect(done).toEqual(['a', 'b']);
  });
});
