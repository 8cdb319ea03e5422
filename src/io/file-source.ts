// Node only: a file on local disk, read with positional reads on one handle.
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
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

export class FileSource implements ByteSource {
  readonly id: string;
  private handle: Promise<FileHandle> | undefined;
  private fileSize: number | undefined;
  private tag: string | undefined;
  private readonly counters: IoStats = newStats();

  private readonly syncMax: number;

  constructor(
    readonly path: string,
    options: FileSourceOptions = {},
  ) {
    this.id = `file:${path}`;
    this.syncMax = options.syncReadMaxBytes ?? 64 * 1024;
  }

  private fh(): Promise<FileHandle> {
    if (!this.handle) {
      this.handle = open(this.path, 'r').then(
        async (h) => {
          const st = await h.stat();
          this.fileSize = st.size;
          this.tag = `${st.size}-${Math.floor(st.mtimeMs)}`;
          return h;
        },
        (e: NodeJS.ErrnoException) => {
          this.handle = undefined;
          if (e.code === 'ENOENT') throw new ImageboxError('E_NOT_FOUND', `no such file: ${this.path}`);
          if (e.code === 'EACCES') throw new ImageboxError('E_FORBIDDEN', `cannot read: ${this.path}`);
          throw new ImageboxError('E_ORIGIN', `cannot open ${this.path}: ${e.code ?? e.message}`);
        },
      );
    }
    return this.handle;
  }

  async size(): Promise<number> {
    await this.fh();
    return this.fileSize!;
  }

  validator(): string | undefined {
    return this.tag;
  }

  stats(): IoStats {
    return { ...this.counters };
  }

  async read(ranges: ByteRange[]): Promise<Uint8Array[]> {
    const h = await this.fh();
    const size = this.fileSize!;
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
            if (n === 0) throw new ImageboxError('E_TRUNCATED', `file shrank while reading ${this.path}`);
            done += n;
          }
        }
        while (done < length) {
          const { bytesRead } = await h.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) throw new ImageboxError('E_TRUNCATED', `file shrank while reading ${this.path}`);
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
    if (h) await (await h).close().catch(() => undefined);
  }
}
