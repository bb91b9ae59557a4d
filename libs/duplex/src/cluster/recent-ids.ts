import { RecentMap } from './recent-map';

/** The last `capacity` ids seen, to drop a message that comes twice; the oldest goes first. */
export class RecentIds {
  private readonly ids: RecentMap<string, true>;

  constructor(capacity: number) {
    this.ids = new RecentMap(capacity);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** True if `id` was seen already; else remembers it. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.ids.set(id, true);
    return false;
  }
}
