/**
 * Dialog state in memory, bounded: botbuilder's MemoryStorage keeps every conversation's state for
 * ever, so thousands of people who open a request form and never finish it grow the process without
 * limit. This keeps at most `maxEntries` items, drops the least recently used first, and forgets an
 * item `ttlMs` after it was last written (a half-filled form is not worth keeping longer). Items are
 * stored as JSON text with an eTag, as MemoryStorage does, with the same optimistic check.
 */
import type { Storage, StoreItems } from 'botbuilder';

export interface BoundedStorageOptions {
  maxEntries: number;
  ttlMs: number;
  now?: () => number;
}

interface Entry {
  json: string;
  eTag: string;
  expiresAt: number;
}

/** A Map used as an LRU: reading an entry moves it to the end, the first entry is the oldest. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}

export class BoundedMemoryStorage implements Storage {
  private readonly items: LruMap<string, Entry>;
  private readonly now: () => number;
  private etag = 1;

  constructor(private readonly options: BoundedStorageOptions) {
    this.items = new LruMap(options.maxEntries);
    this.now = options.now ?? Date.now;
  }

  /** How many items are held (expired ones may still count until the next write). */
  get size(): number {
    return this.items.size;
  }

  async read(keys: string[]): Promise<StoreItems> {
    const out: StoreItems = {};
    const now = this.now();
    for (const key of keys) {
      const e = this.items.get(key);
      if (!e) continue;
      if (e.expiresAt <= now) this.items.delete(key);
      else out[key] = JSON.parse(e.json);
    }
    return out;
  }

  async write(changes: StoreItems): Promise<void> {
    const now = this.now();
    this.dropExpired(now);
    for (const [key, item] of Object.entries(changes)) {
      const old = this.items.get(key);
      const wanted = (item as { eTag?: string }).eTag;
      if (old && old.expiresAt > now && wanted && wanted !== '*' && wanted !== old.eTag) {
        throw new Error(`Storage: error writing "${key}" due to eTag conflict.`);
      }
      const eTag = String(this.etag++);
      this.items.set(key, { json: JSON.stringify({ ...(item as object), eTag }), eTag, expiresAt: now + this.options.ttlMs });
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.items.delete(key);
  }

  /** Expired items are dropped oldest-first until a live one: writes refresh recency, so this is cheap. */
  private dropExpired(now: number): void {
    for (const [key, e] of this.items.entries()) {
      if (e.expiresAt > now) break;
      this.items.delete(key);
    }
  }
}
