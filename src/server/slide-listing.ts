// What `/slides` lists for a slide directory: every slide file under it (not
// following symlinks out of it), each with what opening it found: vendor and
// size, or the error code of a file that is not a readable slide. The walk is
// cached for a few seconds (it must not run per request over 10,000 files) and
// each file's open result is kept until its size or mtime changes; opens run a
// few at a time and close at once.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { asImageboxError, type ErrorCode } from '../errors.js';
import type { Slide } from '../slide/slide.js';

/** File names the directory scan lists (the TIFF-based formats read today). */
export const SLIDE_EXTENSIONS = ['.svs', '.tif', '.tiff', '.btf', '.tf8', '.ndpi', '.scn', '.bif'];
/** Files that make their folder a DICOM slide in the listing (opening it reads every file with the DICM magic). */
export const DICOM_EXTENSION = '.dcm';
const MAX_SCAN_FILES = 10_000;
const MAX_SCAN_DEPTH = 8;
const PROBES_AT_ONCE = 4;

export interface ListedSlide {
  id: string;
  kind: 'config' | 'dir' | 'remote';
  vendor?: string;
  width?: number;
  height?: number;
  levels?: number;
  /** Set when the file cannot be opened as a slide. */
  error?: { code: ErrorCode; message: string };
}

interface Probe {
  size: number;
  mtimeMs: number;
  result: Omit<ListedSlide, 'id' | 'kind'>;
}

export class SlideListing {
  private walk: { at: number; files: Promise<string[]> } | undefined;
  private readonly probes = new Map<string, Probe>();

  constructor(
    private readonly root: () => Promise<string>,
    private readonly open: (path: string) => Promise<Slide>,
    private readonly ttlMs: number,
  ) {}

  async list(): Promise<ListedSlide[]> {
    const root = await this.root();
    if (!this.walk || Date.now() - this.walk.at > this.ttlMs) {
      const files = scan(root);
      this.walk = { at: Date.now(), files };
      files.catch(() => (this.walk = undefined));
    }
    const rels = await this.walk.files;
    const out: ListedSlide[] = new Array(rels.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < rels.length) {
        const i = next++;
        const rel = rels[i]!;
        out[i] = { id: rel, kind: 'dir', ...(await this.probe(join(root, rel))) };
      }
    };
    await Promise.all(Array.from({ length: PROBES_AT_ONCE }, worker));
    // forget probes of files that are gone
    if (this.probes.size > rels.length * 2 + 64) {
      const keep = new Set(rels.map((r) => join(root, r)));
      for (const p of this.probes.keys()) if (!keep.has(p)) this.probes.delete(p);
    }
    return out;
  }

  private async probe(path: string): Promise<Probe['result']> {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      return { error: { code: 'E_NOT_FOUND', message: 'the file is gone' } };
    }
    const known = this.probes.get(path);
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.result;
    let result: Probe['result'];
    try {
      const slide = await this.open(path);
      result = { vendor: slide.vendor, width: slide.width, height: slide.height, levels: slide.levels.length };
      await slide.close();
    } catch (e) {
      const err = asImageboxError(e);
      result = { error: { code: err.code, message: err.message.slice(0, 200) } };
    }
    this.probes.set(path, { size: st.size, mtimeMs: st.mtimeMs, result });
    return result;
  }
}

/** Slide files (and DICOM folders) under root, as '/'-separated relative paths, not following symlinks out of root. */
async function scan(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, depth: number): Promise<void> {
    if (depth > MAX_SCAN_DEPTH || out.length >= MAX_SCAN_FILES) return;
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // a folder with DICOM instances (*.dcm) is one slide: the series' files are not listed one by one
    if (depth > 0 && names.some((d) => d.isFile() && !d.name.startsWith('.') && d.name.toLowerCase().endsWith(DICOM_EXTENSION))) {
      out.push(relative(root, dir).split(sep).join('/'));
    }
    for (const d of names) {
      if (out.length >= MAX_SCAN_FILES) return;
      if (d.name.startsWith('.')) continue;
      const p = join(dir, d.name);
      if (d.isDirectory()) await walk(p, depth + 1);
      else if ((d.isFile() || d.isSymbolicLink()) && SLIDE_EXTENSIONS.some((e) => d.name.toLowerCase().endsWith(e))) {
        if (d.isSymbolicLink()) {
          const real = await realpath(p).catch(() => undefined);
          if (!real || relative(root, real).startsWith('..') || isAbsolute(relative(root, real))) continue;
          if (!(await lstat(real).then((s) => s.isFile(), () => false))) continue;
        }
        out.push(relative(root, p).split(sep).join('/'));
      }
    }
  }
  await walk(root, 0);
  return out;
}
