// The one contract between the I/O room and everything above it.
import type { ImageboxError } from '../errors.js';

/** A contiguous byte span of a source. `length` > 0. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Counters every source and the scheduler keep (the benchmark reports them). */
export interface IoStats {
  /** Requests that went to the origin (an HTTP request, or a file read call). */
  requests: number;
  /** Bytes that came from the origin (what we paid for). */
  bytesFetched: number;
  /** Bytes callers asked for (what we needed). */
  bytesRequested: number;
}

/**
 * Random access to the bytes of one file, wherever it lives.
 * `read` returns one Uint8Array per range, in order, each exactly `length`
 * long; a range that runs past the end of the source fails with E_TRUNCATED.
 * Implementations may send all ranges of one call as one request.
 */
export interface ByteSource {
  /** Stable identity of the source (path or URL without credentials): cache keys, logs. */
  readonly id: string;
  /** Total size in bytes. May cost a request before the first read; free after. */
  size(): Promise<number>;
  /**
   * The bytes of each range. They may be shared (a scheduler hands out the very
   * bytes its cache keeps): readers must never write into them.
   */
  read(ranges: ByteRange[], signal?: AbortSignal): Promise<Uint8Array[]>;
  /**
   * The first min(length, size) bytes, learning the size on the way (so a
   * reader's speculative first read costs one round trip, not a size probe first).
   */
  readHead?(length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** The origin's validator (strong ETag, else Last-Modified, else mtime+size) once known. */
  validator?(): string | undefined;
  /** When the bytes were last modified (file mtime, HTTP Last-Modified), once known. */
  lastModified?(): Date | undefined;
  /**
   * Ask the origin whether the bytes are still the ones read so far (a stat, or a
   * small conditional request); true when they changed, in which case onChange
   * listeners have been told. Bypasses caches.
   */
  revalidate?(signal?: AbortSignal): Promise<boolean>;
  /** Counters of this source (for a scheduler: what it sent to the source under it). */
  stats?(): IoStats;
  close?(): Promise<void>;
  /**
   * Subscribe to "the bytes under this source changed" (validator mismatch):
   * whoever caches bytes of this source drops them. Returns an unsubscribe.
   */
  onChange?(listener: (error: ImageboxError) => void): () => void;
}

export function newStats(): IoStats {
  return { requests: 0, bytesFetched: 0, bytesRequested: 0 };
}

export function rangeEnd(r: ByteRange): number {
  return r.offset + r.length;
}

/** readHead() for any source: the source's own, else size() then read(). */
export async function readHead(source: ByteSource, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (source.readHead) return source.readHead(length, signal);
  const size = await source.size();
  if (size === 0) return new Uint8Array(0);
  const [head] = await source.read([{ offset: 0, length: Math.min(length, size) }], signal);
  return head!;
}
