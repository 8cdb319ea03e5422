// Node only: a file on local disk, read with positional reads on one handle.
// The file's identity (device, inode, size, mtime) is taken when it is opened;
// revalidate() compares the path's current identity with it, so a file that is
// replaced (rename over it) or rewritten in place is noticed and reported to
// onChange listeners, who drop whatever they derived from the old bytes.
// Messages name the file by its base name only: they may reach a client.
import { read as readCallback, readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { ImageboxError } from '../errors.js';
import { newStats, type ByteRange, type ByteSource, type IoStats } from './byte-source.js';

export interface FileSourceOptions {
  /**
   * Reads of at most this many bytes are a synchronous pread on the event loop
   * (default 64 KiB): for a local disk or the page cache that costs microseconds,
   * far less than a hop through libuv's thread pool. Set 0 for files on a network
   * filesystem, where one slow read would stall every other request.
   */
  syncReadMaxBytes?: number;
  /**
   * A synchronous read slower than this on average (microseconds; default 40)
   * went to the disk, not the page cache: the next reads go through the thread
   * pool, so the event loop serves other requests while the disk works, and a
   * sync read is tried again after a while. A 13 KB tile from the page cache
   * takes 2-10 us; from this machine's virtual disk ~140 us.
   */
  slowReadMicros?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/** Reads done through the thread pool before a synchronous read is tried again. */
const ASYNC_STRETCH = 256;

/** fs.read as a promise (cheaper than FileHandle.read's promise machinery). */
function preadAsync(fd: number, buf: Uint8Array, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => readCallback(fd, buf, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

interface Identity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

const same = (a: Identity, b: Identity): boolean => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

export class FileSource implements ByteSource {
  readonly id: string;
  private readonly name: string;
  private handle: Promise<FileHandle> | undefined;
  private opened: Identity | undefined;
  private changedError: ImageboxError | undefined;
  private readonly counters: IoStats = newStats();
  private readonly listeners = new Set<(e: ImageboxError) => void>();
  private readonly syncMax: number;
  private readonly slowMicros: number;
  private readonly now: () => number;
  /** Moving average of synchronous read times (us). */
  private syncMicros = 0;
  /** Reads left to do through the thread pool before trying sync again. */
  private asyncLeft = 0;
  private readonly modes = { sync: 0, async: 0 };

  constructor(
    readonly path: string,
    options: FileSourceOptions = {},
  ) {
    this.id = `file:${path}`;
    this.name = basename(path);
    this.syncMax = options.syncReadMaxBytes ?? 64 * 1024;
    this.slowMicros = options.slowReadMicros ?? 40;
    this.now = options.now ?? (() => performance.now());
  }

  private fh(): Promise<FileHandle> {
    if (!this.handle) {
      this.handle = open(this.path, 'r').then(
        async (h) => {
          try {
            const st = await h.stat();
            if (!st.isFile()) throw new ImageboxError('E_NOT_A_SLIDE', `${this.name} is not a regular file`);
            this.opened = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
            return h;
          } catch (e) {
            await h.close().catch(() => undefined);
            throw e;
          }
        },
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') throw new ImageboxError('E_NOT_FOUND', `no such file: ${this.name}`);
          if (e.code === 'EACCES') throw new ImageboxError('E_FORBIDDEN', `cannot read ${this.name}`);
          throw new ImageboxError('E_ORIGIN', `cannot open ${this.name}: ${e.code ?? 'error'}`);
        },
      );
      this.handle.catch(() => (this.handle = undefined));
    }
    return this.handle;
  }

  async size(): Promise<number> {
    await this.fh();
    return this.opened!.size;
  }

  /** Size and mtime of the file as opened (undefined before the first read). */
  validator(): string | undefined {
    return this.opened && `${this.opened.size}-${Math.floor(this.opened.mtimeMs)}`;
  }

  /** When the file was last modified, as opened (for Last-Modified). */
  lastModified(): Date | undefined {
    return this.opened && new Date(this.opened.mtimeMs);
  }

  stats(): IoStats {
    return { ...this.counters };
  }

  /** Reads done on the event loop (sync) and through the thread pool (async). */
  readModes(): { sync: number; async: number } {
    return { ...this.modes };
  }

  onChange(listener: (e: ImageboxError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether the file at the path is still the one opened (one stat). A changed
   * file is reported once to the listeners; later reads fail E_SOURCE_CHANGED.
   */
  async revalidate(): Promise<boolean> {
    if (this.changedError) return true;
    if (!this.opened) return false;
    let now: Identity;
    try {
      const st = await stat(this.path);
      now = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      this.changed('it is gone');
      return true;
    }
    if (same(now, this.opened)) return false;
    this.changed(now.ino !== this.opened.ino || now.dev !== this.opened.dev ? 'it was replaced' : 'it was rewritten');
    return true;
  }

  private changed(why: string): ImageboxError {
    if (this.changedError) return this.changedError;
    const err = new ImageboxError('E_SOURCE_CHANGED', `${this.name} changed while being read (${why})`);
    this.changedError = err;
    for (const l of [...this.listeners]) {
      try {
        l(err);
      } catch {
        /* a listener's failure is not ours */
      }
    }
    return err;
  }

  async read(ranges: ByteRange[]): Promise<Uint8Array[]> {
    if (this.changedError) throw this.changedError;
    const h = await this.fh();
    const size = this.opened!.size;
    return Promise.all(
      ranges.map(async ({ offset, length }) => {
        if (offset < 0 || length < 0 || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
          throw new ImageboxError('E_MALFORMED', `bad range ${offset}+${length}`);
        }
        if (offset + length > size) {
          throw new ImageboxError('E_TRUNCATED', `read ${offset}+${length} past end of file (${size} bytes)`, {
            offset,
            length,
            size,
          });
        }
        const buf = new Uint8Array(length);
        let done = 0;
        if (length <= this.syncMax && this.asyncLeft === 0) {
          const t0 = this.now();
          while (done < length) {
            const n = readSync(h.fd, buf, done, length - done, offset + done);
            if (n === 0) throw this.changed('it shrank');
            done += n;
          }
          this.modes.sync++;
          this.syncMicros = this.syncMicros * 0.8 + (this.now() - t0) * 1000 * 0.2;
          if (this.syncMicros > this.slowMicros) {
            this.asyncLeft = ASYNC_STRETCH;
            this.syncMicros = 0;
          }
        } else {
          this.modes.async++;
          if (this.asyncLeft > 0) this.asyncLeft--;
        }
        while (done < length) {
          const n = await preadAsync(h.fd, buf, done, length - done, offset + done);
          if (n === 0) throw this.changed('it shrank');
          done += n;
        }
        this.counters.requests++;
        this.counters.bytesFetched += length;
        this.counters.bytesRequested += length;
        return buf;
      }),
    );
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    this.listeners.clear();
    if (h) await (await h.catch(() => undefined))?.close().catch(() => undefined);
  }
}
