/**
 * What was sent to the writer thread and not yet answered, by id. Ids are handed out in increasing
 * order and answered about in that order, so the entries live in an array that starts at the oldest
 * unanswered id.
 *
 * Not a Map: measured with `--trace-gc-nvp` on 50 concurrent appenders, with a Map here every
 * scavenge of the main thread kept about 15 MB of answered writes (their records and templates)
 * alive, promoted them and paused 35 ms, and the append rate was a fifth lower. Entries taken out of
 * this array are unreachable at once: the same run promotes nothing.
 */
export class InFlight<T> {
  private slots: (T | undefined)[] = [];
  /** The id of slots[0]. */
  private base = 0;
  /** Slots before this index are empty. */
  private head = 0;
  private count = 0;
  private last = Number.NEGATIVE_INFINITY;

  get size(): number {
    return this.count;
  }

  /** `id` must be greater than every id added before. */
  add(id: number, value: T): void {
    if (!Number.isSafeInteger(id) || id <= this.last) throw new RangeError(`in-flight id ${id} is not greater than the ids before it`);
    this.last = id;
    if (this.slots.length === this.head) {
      // Nothing in flight: start over at this id.
      this.slots = [];
      this.base = id;
      this.head = 0;
    }
    const at = id - this.base;
    while (this.slots.length < at) this.slots.push(undefined);
    this.slots.push(value);
    this.count++;
  }

  /** The entry for `id`, removed; undefined when there is none (already taken, or never added). */
  take(id: number): T | undefined {
    const at = id - this.base;
    if (at < this.head || at >= this.slots.length) return undefined;
    const value = this.slots[at];
    if (value === undefined) return undefined;
    this.slots[at] = undefined;
    this.count--;
    while (this.head < this.slots.length && this.slots[this.head] === undefined) this.head++;
    // Drop the empty front once it is most of the array.
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    return value;
  }

  /** Every entry in id order, removed. */
  takeAll(): [id: number, value: T][] {
    const all: [number, T][] = [];
    for (let at = this.head; at < this.slots.length; at++) {
      const value = this.slots[at];
      if (value !== undefined) all.push([at + this.base, value]);
    }
    this.slots = [];
    this.head = 0;
    this.count = 0;
    return all;
  }
}
