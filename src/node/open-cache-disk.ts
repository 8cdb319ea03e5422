// The warm re-open store on disk (src/io/open-cache.ts): one file per key,
// named by the key's SHA-256 (no URL in a file name), in a directory of mode
// 0700 owned by this user (os.tmpdir()/imagebox-open-cache-<uid> by default).
// Bounded: at most maxEntryBytes per entry and maxBytes in all, the least
// recently used (file mtime, touched on every hit) removed first. Files are
// written whole under a temporary name and renamed, so another process sees an
// old entry or the new one, never half of one; what the directory holds is
// checked in full before use (a corrupt file is deleted by the reader). Several
// processes may share the directory: the bound is enforced over what is in it.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenCacheStore } from '../io/open-cache.js';

const MiB = 1024 * 1024;
const SUFFIX = '.ibopen';
/** A temporary file older than this is a crashed writer's: removed when seen. */
const STALE_TMP_MS = 10 * 60 * 1000;

export interface DiskOpenCacheOptions {
  /** All entries together (default 256 MiB). */
  maxBytes?: number;
  /** One entry at most (default 16 MiB): a larger one is not kept. */
  maxEntryBytes?: number;
}

/** The default directory: under os.tmpdir(), one per user. */
export function defaultOpenCacheDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(tmpdir(), `imagebox-open-cache-${uid}`);
}

export class DiskOpenCache implements OpenCacheStore {
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  private ready: Promise<boolean> | undefined;

  constructor(
    readonly dir: string,
    options: DiskOpenCacheOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 256 * MiB;
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? 16 * MiB, this.maxBytes);
  }

  /** The directory exists, is a directory of ours and only ours (0700); false: the store is off. */
  private usable(): Promise<boolean> {
    this.ready ??= (async () => {
      try {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        const st = await lstat(this.dir);
        if (!st.isDirectory()) return false;
        const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
        if (uid !== undefined && st.uid !== uid) return false; // someone else's directory (a shared /tmp): not trusted
        if ((st.mode & 0o077) !== 0) await chmod(this.dir, 0o700);
        return true;
      } catch {
        return false;
      }
    })();
    return this.ready;
  }

  private file(key: string): string {
    return join(this.dir, createHash('sha256').update(key).digest('hex') + SUFFIX);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    if (!(await this.usable())) return undefined;
    const path = this.file(key);
    try {
      const bytes = await readFile(path);
      if (bytes.length > this.maxEntryBytes) {
        await unlink(path).catch(() => undefined);
        return undefined;
      }
      const now = new Date();
      utimes(path, now, now).catch(() => undefined); // recency for the LRU
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    if (value.length > this.maxEntryBytes || !(await this.usable())) return;
    const path = this.file(key);
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, value, { mode: 0o600 });
      await rename(tmp, path);
    } catch {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    await this.enforce(path);
  }

  async delete(key: string): Promise<void> {
    await unlink(this.file(key)).catch(() => undefined);
  }

  /** Bytes the directory's entries take now. */
  async bytes(): Promise<number> {
    return (await this.list()).reduce((n, f) => n + f.size, 0);
  }

  private async list(): Promise<{ path: string; size: number; mtimeMs: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: { path: string; size: number; mtimeMs: number }[] = [];
    const now = Date.now();
    for (const name of names) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (name.endsWith('.tmp')) {
        if (now - st.mtimeMs > STALE_TMP_MS) await unlink(path).catch(() => undefined);
        continue;
      }
      if (name.endsWith(SUFFIX)) out.push({ path, size: st.size, mtimeMs: st.mtimeMs });
    }
    return out;
  }

  /** Remove the least recently used entries until all fit in maxBytes (the one just written last). */
  private async enforce(keep: string): Promise<void> {
    const files = await this.list();
    let total = files.reduce((n, f) => n + f.size, 0);
    if (total <= this.maxBytes) return;
    files.sort((a, b) => (a.path === keep ? 1 : b.path === keep ? -1 : a.mtimeMs - b.mtimeMs));
    for (const f of files) {
      if (total <= this.maxBytes) break;
      await unlink(f.path).catch(() => undefined);
      total -= f.size;
    }
  }
}
