/**
 * The last `capacity` one-way callbacks of a session, by seq. Seqs are
 * consecutive, so only the frames are kept, in a ring: a topic callback
 * shared by a thousand sessions costs each of them one slot, not a copy,
 * and a full window drops its oldest in constant time.
 */
export class ReplayWindow<T> {
  private readonly ring: Array<T | undefined>;
  private head = 0;
  private count = 0;
  /** Seq of the newest frame; 0 before the first. */
  private last = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<T | undefined>(capacity);
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Seq of the oldest frame still held (lastSeq + 1 when none is). */
  get oldestSeq(): number {
    return this.last - this.count + 1;
  }

  /** Numbers `frame` with the next seq and keeps it, dropping the oldest when full. */
  push(frame: T): number {
    this.last++;
    if (this.capacity === 0) return this.last;
    this.ring[(this.head + this.count) % this.capacity] = frame;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
    return this.last;
  }

  /** The held frames with seq > `seq`, oldest first. */
  *after(seq: number): Generator<[frame: T, seq: number]> {
    for (let s = Math.max(seq + 1, this.oldestSeq); s <= this.last; s++) {
      yield [this.ring[(this.head + s - this.oldestSeq) % this.capacity] as T, s];
    }
  }
}
