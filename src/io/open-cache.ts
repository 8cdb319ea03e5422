// Warm re-open: what opening a slide read (the spans of the file its parser
// touched: header, IFDs, tag values, small arrays; the range scheduler's span
// cache holds exactly them right after open) is kept in a byte store keyed by
// the source, with the validator (ETag / Last-Modified) and size it was read
// under. A later open of the same slide sends the cold open's own first read
// (the head), whose answer tells the validator and size: when they match the
// entry, its spans go into the span cache and the unchanged parser runs on them
// with no further request; when they do not (or the entry is missing or
// corrupt), the open goes on cold, as if there were no cache (the head already
// read is not wasted), and the entry is replaced.
//
// The store is a small interface (get/set bytes by key) so a shared one (Redis)
// can stand in for the disk one (src/node/open-cache-disk.ts). Entries are
// checked in full before use (magic, lengths, checksum, key, bounds): a corrupt
// or truncated one is deleted, never trusted.

/** Bytes by key: the disk store, or a shared one. Keys are plain strings; a store hashes them as it needs. */
export interface OpenCacheStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keep `value` under `key` (a store may refuse it: too big, full, read-only). Never throws for that. */
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

/** One cache entry: the spans a cold open read, and what they were read under. */
export interface OpenCacheEntry {
  /** The source's id (no credentials: a URL without userinfo, its query only as a digest). */
  id: string;
  validator: string;
  size: number;
  spans: { offset: number; data: Uint8Array }[];
}

const MAGIC = 'IBOPEN01';
const MAX_HEADER_BYTES = 1 << 20;
/** Most spans one entry may hold. */
const MAX_SPANS = 65_536;

/** The key of a source's entry (the store hashes it: no raw URL in file names). */
export function openCacheKey(id: string): string {
  return `imagebox-open/1 ${id}`;
}

/** FNV-1a over bytes (32 bits): catches truncation and flipped bits, not an adversary (the store is ours, 0700). */
function checksum(bytes: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export function encodeOpenEntry(e: OpenCacheEntry): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ id: e.id, validator: e.validator, size: e.size, spans: e.spans.map((s) => [s.offset, s.data.length]) }),
  );
  const dataBytes = e.spans.reduce((n, s) => n + s.data.length, 0);
  const out = new Uint8Array(8 + 4 + header.length + dataBytes + 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  let at = 12 + header.length;
  for (const s of e.spans) {
    out.set(s.data, at);
    at += s.data.length;
  }
  view.setUint32(at, checksum(out, at), true);
  return out;
}

/** The entry in `bytes`, or undefined when they are not a whole, intact entry for `id`. */
export function decodeOpenEntry(bytes: Uint8Array, id: string): OpenCacheEntry | undefined {
  if (bytes.length < 16) return undefined;
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength + 4 > bytes.length) return undefined;
  const end = bytes.length - 4;
  if (view.getUint32(end, true) !== checksum(bytes, end)) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    return undefined;
  }
  if (!header || typeof header !== 'object') return undefined;
  const h = header as { id?: unknown; validator?: unknown; size?: unknown; spans?: unknown };
  if (h.id !== id || typeof h.validator !== 'string' || h.validator === '') return undefined;
  const size = h.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) return undefined;
  if (!Array.isArray(h.spans) || h.spans.length > MAX_SPANS) return undefined;
  const spans: { offset: number; data: Uint8Array }[] = [];
  let at = 12 + headerLength;
  let last = 0;
  for (const s of h.spans as unknown[]) {
    if (!Array.isArray(s) || s.length !== 2) return undefined;
    const [offset, length] = s as unknown[];
    if (typeof offset !== 'number' || typeof length !== 'number' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return undefined;
    // sorted, disjoint, inside the file, inside the entry
    if (offset < last || length <= 0 || offset + length > size || at + length > end) return undefined;
    spans.push({ offset, data: bytes.subarray(at, at + length) });
    at += length;
    last = offset + length;
  }
  if (at !== end) return undefined;
  return { id, validator: h.validator, size, spans };
}

/** A store kept in memory (tests; a process without a disk). Bounded by bytes, least recently used out first. */
export class MemoryOpenCache implements OpenCacheStore {
  private readonly map = new Map<string, Uint8Array>();
  private used = 0;
  constructor(readonly maxBytes = 64 * 1024 * 1024) {}
  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  async set(key: string, value: Uint8Array): Promise<void> {
    await this.delete(key);
    if (value.length > this.maxBytes) return;
    this.map.set(key, value);
    this.used += value.length;
    for (const [k, v] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.map.delete(k);
      this.used -= v.length;
    }
  }
  async delete(key: string): Promise<void> {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.used -= v.length;
    }
  }
}

/**
 * Two stores as one: reads the near one (this node's disk) first and, on a
 * miss, the far one (the cluster's Redis), copying what it finds near (not awaited); writes
 * and deletes go to both. Either may fail on its own: the other still answers.
 */
export function tieredOpenCache(near: OpenCacheStore, far: OpenCacheStore): OpenCacheStore {
  return {
    async get(key) {
      const v = await near.get(key).catch(() => undefined);
      if (v) return v;
      const w = await far.get(key).catch(() => undefined);
      // the near copy is written after the answer: the open needs the bytes, not the disk write
      if (w) void near.set(key, w).catch(() => undefined);
      return w;
    },
    async set(key, value) {
      await Promise.all([near.set(key, value).catch(() => undefined), far.set(key, value).catch(() => undefined)]);
    },
    async delete(key) {
      await Promise.all([near.delete(key).catch(() => undefined), far.delete(key).catch(() => undefined)]);
    },
  };
}
