// The slide registry: which ids exist and where their bytes are. Three
// sources of ids, checked in this order:
//   1. a JSON config mapping ids to { path | url, headers } (header values may
//      hold ${ENV_VAR} secrets, resolved from the environment at load time);
//   2. a directory scan (--slides DIR): ids are paths relative to DIR, never
//      escaping it (realpath containment, so symlinks out of DIR are refused);
//   3. ad-hoc remote ids: base64url of an http(s) URL, only under an allowed
//      prefix (--allow). Nothing else is ever fetched: no open proxy.
// Slides are opened lazily and kept in a bounded LRU, closed on eviction.
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ImageboxError } from '../errors.js';
import { expandEnv } from '../node/env.js';
import type { Slide } from '../slide/slide.js';
import { parsePrefix, urlAllowed, type Prefix } from './allow.js';
import { checkIdentifier } from './iiif/identifier.js';
import { openSpec } from './open-spec.js';

export { allowPredicate, urlAllowed } from './allow.js';

/** Where one slide's bytes are: everything a worker thread needs to open it itself. */
export interface SourceSpec {
  /** Absolute local path or http(s) URL. */
  location: string;
  /** Request headers for the origin (already resolved from the environment). */
  headers?: Record<string, string>;
  /** URL prefixes redirects may go to (http sources). */
  allow?: string[];
}

export interface SlideEntry {
  id: string;
  kind: 'config' | 'dir' | 'remote';
  spec: SourceSpec;
}

export interface ConfigSlide {
  path?: string;
  url?: string;
  headers?: Record<string, string>;
}

export interface RegistryConfig {
  slides?: Record<string, ConfigSlide>;
  allow?: string[];
  rights?: string;
}

export interface RegistryOptions {
  slidesDir?: string | undefined;
  config?: RegistryConfig | undefined;
  /** Directory that relative config paths are resolved against. */
  configDir?: string | undefined;
  /** URL prefixes ad-hoc remote ids may point under. */
  allow?: string[] | undefined;
  /** Open slides kept (LRU); default 64. */
  maxOpen?: number | undefined;
  env?: Record<string, string | undefined> | undefined;
  /** How a spec becomes a Slide (default: openByteSource + openSlide). */
  open?: ((spec: SourceSpec) => Promise<Slide>) | undefined;
}

/** File names the directory scan lists. */
export const SLIDE_EXTENSIONS = ['.svs', '.tif', '.tiff', '.btf', '.tf8', '.ndpi', '.scn', '.bif', '.qptiff'];
const MAX_SCAN_FILES = 10_000;
const MAX_SCAN_DEPTH = 8;

export { expandEnv } from '../node/env.js';

export function encodeRemoteId(url: string): string {
  return Buffer.from(url, 'utf8').toString('base64url');
}

function decodeRemoteId(id: string): URL | undefined {
  if (!/^[A-Za-z0-9_-]{8,2800}$/.test(id)) return undefined;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  if (!/^https?:\/\//i.test(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

export class SlideRegistry {
  readonly rights: string | undefined;
  private readonly configured = new Map<string, SlideEntry>();
  private readonly prefixes: Prefix[];
  private readonly allowList: string[];
  private readonly open: (spec: SourceSpec) => Promise<Slide>;
  private readonly maxOpen: number;
  private readonly slides = new Map<string, Promise<Slide>>();
  private dirReal: Promise<string> | undefined;
  /** Directory ids resolved recently (id -> entry, expiry): saves realpath+stat per request. */
  private readonly resolved = new Map<string, { entry: SlideEntry; until: number }>();

  constructor(private readonly options: RegistryOptions = {}) {
    const env = options.env ?? process.env;
    this.allowList = [...(options.allow ?? []), ...(options.config?.allow ?? [])];
    this.prefixes = this.allowList.map(parsePrefix);
    this.rights = options.config?.rights;
    this.maxOpen = Math.max(1, options.maxOpen ?? 64);
    for (const [id, s] of Object.entries(options.config?.slides ?? {})) {
      checkIdentifier(id);
      const headers = Object.fromEntries(Object.entries(s.headers ?? {}).map(([k, v]) => [k, expandEnv(String(v), env)]));
      if (s.url !== undefined) {
        const u = new URL(s.url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: only http(s) URLs`);
        // a configured URL is trusted; redirects may stay on its own origin
        this.configured.set(id, { id, kind: 'config', spec: { location: u.href, headers, allow: [u.origin + '/', ...this.allowList] } });
      } else if (s.path !== undefined) {
        const p = isAbsolute(s.path) ? s.path : resolve(options.configDir ?? process.cwd(), s.path);
        this.configured.set(id, { id, kind: 'config', spec: { location: p } });
      } else {
        throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id} has neither path nor url`);
      }
    }
    this.open = options.open ?? openSpec;
  }

  /** All listable ids (config + directory scan; ad-hoc remote ids are not listed). */
  async list(): Promise<SlideEntry[]> {
    const out = [...this.configured.values()];
    if (this.options.slidesDir) {
      const root = await this.root();
      for (const rel of await scan(root)) if (!this.configured.has(rel)) out.push({ id: rel, kind: 'dir', spec: { location: join(root, rel) } });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The source of an id: 404 when unknown, 403 when it names a URL outside the allow list. */
  async resolve(id: string): Promise<SlideEntry> {
    checkIdentifier(id);
    const c = this.configured.get(id);
    if (c) return c;
    const recent = this.resolved.get(id);
    if (recent && recent.until > Date.now()) return recent.entry;
    if (this.options.slidesDir && SLIDE_EXTENSIONS.some((e) => id.toLowerCase().endsWith(e))) {
      const root = await this.root();
      const candidate = join(root, id);
      let real: string | undefined;
      try {
        real = await realpath(candidate);
      } catch {
        real = undefined;
      }
      if (real !== undefined) {
        const rel = relative(root, real);
        if (rel.startsWith('..') || isAbsolute(rel) || rel === '') throw new ImageboxError('E_FORBIDDEN', 'slide path leaves the slide directory');
        const st = await stat(real);
        if (st.isFile()) {
          const entry: SlideEntry = { id, kind: 'dir', spec: { location: real } };
          if (this.resolved.size >= 4096) this.resolved.clear();
          this.resolved.set(id, { entry, until: Date.now() + 5000 });
          return entry;
        }
      }
    }
    const url = decodeRemoteId(id);
    if (url) {
      if (!urlAllowed(url, this.prefixes)) throw new ImageboxError('E_FORBIDDEN', 'this URL is not under an allowed prefix');
      return { id, kind: 'remote', spec: { location: url.href, allow: this.allowList } };
    }
    throw new ImageboxError('E_NOT_FOUND', `no slide "${id}"`);
  }

  /** The opened slide of an id (opened once, kept in an LRU). */
  async get(id: string): Promise<{ entry: SlideEntry; slide: Slide }> {
    const entry = await this.resolve(id);
    let p = this.slides.get(id);
    if (p) {
      this.slides.delete(id);
      this.slides.set(id, p);
    } else {
      p = this.open(entry.spec);
      this.slides.set(id, p);
      p.catch(() => {
        if (this.slides.get(id) === p) this.slides.delete(id);
      });
      this.evict();
    }
    return { entry, slide: await p };
  }

  private evict(): void {
    while (this.slides.size > this.maxOpen) {
      const [oldId, oldP] = this.slides.entries().next().value as [string, Promise<Slide>];
      this.slides.delete(oldId);
      // let requests in flight finish before the handle goes
      const t = setTimeout(() => oldP.then((s) => s.close()).catch(() => undefined), 30_000);
      t.unref?.();
    }
  }

  openCount(): number {
    return this.slides.size;
  }

  /** Slides opened so far (for metrics). */
  async openSlides(): Promise<Slide[]> {
    const all = await Promise.allSettled([...this.slides.values()]);
    return all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  async close(): Promise<void> {
    const all = [...this.slides.values()];
    this.slides.clear();
    await Promise.allSettled(all.map((p) => p.then((s) => s.close())));
  }

  private root(): Promise<string> {
    this.dirReal ??= realpath(this.options.slidesDir!).catch(() => {
      this.dirReal = undefined;
      throw new ImageboxError('E_NOT_FOUND', `slide directory ${this.options.slidesDir} does not exist`);
    });
    return this.dirReal;
  }
}

/** Slide files under root, as '/'-separated relative paths, not following symlinks out of root. */
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
    for (const d of names) {
      if (out.length >= MAX_SCAN_FILES) return;
      if (d.name.startsWith('.')) continue;
      const p = join(dir, d.name);
      if (d.isDirectory()) await walk(p, depth + 1);
      else if ((d.isFile() || d.isSymbolicLink()) && SLIDE_EXTENSIONS.some((e) => d.name.toLowerCase().endsWith(e))) {
        if (d.isSymbolicLink()) {
          const real = await realpath(p).catch(() => undefined);
          if (!real || relative(root, real).startsWith('..') || isAbsolute(relative(root, real))) continue;
        }
        out.push(relative(root, p).split(sep).join('/'));
      }
    }
  }
  await walk(root, 0);
  return out;
}

/** Load a registry config file (JSON). Relative slide paths resolve against the file's directory. */
export async function loadConfig(file: string): Promise<{ config: RegistryConfig; configDir: string }> {
  const { readFile } = await import('node:fs/promises');
  let config: RegistryConfig;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as RegistryConfig;
  } catch (e) {
    throw new ImageboxError('E_BAD_REQUEST', `cannot read config ${file}: ${(e as Error).message}`);
  }
  if (typeof config !== 'object' || config === null) throw new ImageboxError('E_BAD_REQUEST', `config ${file} is not a JSON object`);
  return { config, configDir: dirname(resolve(file)) };
}
