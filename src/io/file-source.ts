// Node only: a file on local disk, read with positional reads on one handle.
// The file's identity (device, inode, size, mtime) is taken when it is opened;
// revalidate() compares the path's current identity with it, so a file that is
// replaced (rename over it) or rewritten in place is noticed and reported to
// onChange listeners, who drop whatever they derived from the old bytes.
// Messages name the file by its base name only: they may reach a client.
import { readSync } from 'node:fs';
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

  constructor(
    readonly path: string,
    options: FileSourceOptions = {},
  ) {
    this.id = `file:${path}`;
    this.name = basename(path);
    this.syncMax = options.syncReadMaxBytes ?? 64 * 1024;
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
        if (length <= this.syncMax) {
          while (done < length) {
            const n = readSync(h.fd, buf, done, length - done, offset + done);
            if (n === 0) throw this.changed('it shrank');
            done += n;
          }
        }
        while (done < length) {
          const { bytesRead } = await h.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) throw this.changed('it shrank');
          done += bytesRead;
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
