/**
 * The last `capacity` one-way callbacks of a session, by seq. Seqs are
 * consecutive, so only the frames are kept, in a ring: a topic callback
 * shared by a thousand sessions costs each of them one slot, not a copy,
 * and a full window drops its oldest in constant time. The ring grows as
 * frames come, so an idle session holds no slots at all.
 */
export class ReplayWindow<T> {
  /** Grows to `capacity`; until then the oldest frame is at 0, after that at `head`. */
  private readonly ring: T[] = [];
  private head = 0;
  /** Seq of the newest frame; `startAfter` before the first. */
  private last: number;

  /** `startAfter`: the seq numbering continues from, 0 for a new session. */
  constructor(
    private readonly capacity: number,
    startAfter = 0,
  ) {
    this.last = startAfter;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Seq of the oldest frame still held (lastSeq + 1 when none is). */
  get oldestSeq(): number {
    return this.last - this.ring.length + 1;
  }

  /** Numbers `frame` with the next seq and keeps it, dropping the oldest when full. */
  push(frame: T): number {
    this.last++;
    if (this.ring.length < this.capacity) {
      this.ring.push(frame);
    } else if (this.capacity > 0) {
      this.ring[this.head] = frame;
      this.head = (this.head + 1) % this.capacity;
    }
    return this.last;
  }

  /** The held frames with seq > `seq`, oldest first. */
  *after(seq: number): Generator<[frame: T, seq: number]> {
    const oldest = this.oldestSeq;
    for (let s = Math.max(seq + 1, oldest); s <= this.last; s++) {
      yield [this.ring[(this.head + s - oldest) % this.ring.length], s];
    }
  }
}
