// The slide registry: which ids exist and where their bytes are. Three
// sources of ids, checked in this order:
//   1. a JSON config mapping ids to { path | url, headers } (header values may
//      hold ${ENV_VAR} secrets, resolved from the environment at load time);
//   2. a directory scan (--slides DIR): ids are paths relative to DIR, never
//      escaping it (realpath containment, so symlinks out of DIR are refused);
//      a folder holding DICOM instances is one slide (its relative path);
//   3. ad-hoc remote ids: base64url of an http(s) URL, only under an allowed
//      prefix (--allow). Nothing else is ever fetched: no open proxy.
// Slides are opened lazily and kept in a bounded SlideCache. Every use checks,
// at most once per revalidation interval, that the slide's bytes are still the
// ones opened (size + mtime + inode of a file; the validator of an origin); a
// changed slide is dropped with everything derived from it and opened afresh,
// and a request that met the change mid-way is answered from the new one.
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ImageboxError, isImageboxError } from '../errors.js';
import { expandEnv } from '../node/env.js';
import type { OAuth2ClientCredentials } from '../io/oauth2.js';
import type { UrlRefresh } from './url-refresher.js';
import { isNonPublicLiteral } from '../io/address-guard.js';
import type { Slide } from '../slide/slide.js';
import { parsePrefix, urlAllowed, type Prefix } from './allow.js';
import { checkIdentifier } from './iiif/identifier.js';
import { openSpec } from './open-spec.js';
import { SlideCache } from './slide-cache.js';
import type { SlideDirectory } from './context.js';
import { SlideListing, SLIDE_EXTENSIONS, type ListedSlide } from './slide-listing.js';
import { hasDicomFile } from '../node/dicom-folder.js';
import { isDicomWebSeriesUrl } from '../formats/dicom/dicomweb-series.js';

export { allowPredicate, urlAllowed } from './allow.js';
export { SLIDE_EXTENSIONS } from './slide-listing.js';
export { jobSpec } from './job-spec.js';

/** Where one slide's bytes are: everything a worker thread needs to open it itself. */
export interface SourceSpec {
  /** Absolute local path (a file, or a folder of DICOM instances) or http(s) URL. */
  location: string;
  /**
   * The files of one DICOM WSI series (absolute paths or http(s) URLs, headers and
   * signing as for `location`), when the slide is a configured list; `location`
   * is then the first of them.
   */
  locations?: string[];
  /** `location` is a DICOMweb series URL (`.../studies/{uid}/series/{uid}`): read with WADO-RS, not with ranges. */
  dicomweb?: boolean;
  /** Request headers for the origin (already resolved from the environment). */
  headers?: Record<string, string>;
  /** URL prefixes redirects may go to (http sources). */
  allow?: string[];
  /** Sign every request with AWS Signature V4 (a private bucket); credentials from the environment where the slide is opened. */
  s3?: S3Auth;
  /** Bearer tokens from an OAuth 2.0 token endpoint (client credentials), values already resolved from the environment. */
  oauth2?: OAuth2ClientCredentials;
  /** Connect only to public addresses (ad-hoc remote ids, unless their host is an allowed IP literal). */
  publicOnly?: boolean;
  /** A pre-signed URL's refresher (a command or a URL), run when the origin refuses the URL. */
  refresh?: UrlRefresh;
  /**
   * The validator of the bytes the main thread opened (files: size-mtime; HTTP:
   * ETag / Last-Modified). A worker whose own open sees other bytes fails the job
   * with E_SOURCE_CHANGED instead of mixing two versions of the slide.
   */
  version?: string;
}

export interface SlideEntry {
  id: string;
  kind: 'config' | 'dir' | 'remote';
  spec: SourceSpec;
}

/** A private S3 (or S3-compatible) bucket: requests signed with AWS Signature V4, credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
export interface S3Auth {
  region: string;
  /** Default 's3'. */
  service?: string;
}

export interface ConfigSlide {
  path?: string;
  url?: string;
  /** The instances of one DICOM WSI series: paths (relative to the config file) or http(s) URLs. */
  dicom?: string[];
  /** A DICOMweb series URL (`http(s)://host/dicom-web/studies/{uid}/series/{uid}`); headers, oauth2 as for url. */
  dicomweb?: string;
  headers?: Record<string, string>;
  s3?: S3Auth;
  /** { tokenUrl, clientId, clientSecret, scope? }; values may name environment variables as ${VAR}. */
  oauth2?: Record<string, string>;
  /** { command } or { url }: how to get a fresh pre-signed URL when this one expires. */
  refresh?: UrlRefresh;
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
  /** How often (ms) a local slide is checked for a change (one stat); default 1000. */
  revalidateLocalMs?: number | undefined;
  /** How often (ms) a remote slide is checked (one 1-byte conditional request); default 30 000. */
  revalidateRemoteMs?: number | undefined;
  /** How long (ms) one walk of the slide directory answers /slides; default 5000. */
  listingTtlMs?: number | undefined;
  env?: Record<string, string | undefined> | undefined;
  /** How a spec becomes a Slide (default: openByteSource + openSlide). */
  open?: ((spec: SourceSpec) => Promise<Slide>) | undefined;
}

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

const isRemote = (location: string): boolean => /^https?:\/\//i.test(location);

export class SlideRegistry implements SlideDirectory {
  readonly rights: string | undefined;
  private readonly configured = new Map<string, SlideEntry>();
  private readonly prefixes: Prefix[];
  private readonly allowList: string[];
  private readonly open: (spec: SourceSpec) => Promise<Slide>;
  private readonly cache: SlideCache;
  private readonly listing: SlideListing | undefined;
  private readonly revalidateLocalMs: number;
  private readonly revalidateRemoteMs: number;
  private dirReal: Promise<string> | undefined;
  /** Directory ids resolved recently (id -> entry, expiry): saves realpath+stat per request. */
  private readonly resolved = new Map<string, { entry: SlideEntry; until: number }>();
  private readonly changeListeners = new Set<(entry: SlideEntry) => void>();
  /** Slides whose bytes were found changed (for metrics). */
  changes = 0;

  constructor(private readonly options: RegistryOptions = {}) {
    const env = options.env ?? process.env;
    this.allowList = [...(options.allow ?? []), ...(options.config?.allow ?? [])];
    this.prefixes = this.allowList.map(parsePrefix);
    this.rights = options.config?.rights;
    this.cache = new SlideCache(Math.max(1, options.maxOpen ?? 64));
    this.revalidateLocalMs = options.revalidateLocalMs ?? 1000;
    this.revalidateRemoteMs = options.revalidateRemoteMs ?? 30_000;
    for (const [id, s] of Object.entries(options.config?.slides ?? {})) {
      checkIdentifier(id);
      const headers = Object.fromEntries(Object.entries(s.headers ?? {}).map(([k, v]) => [k, expandEnv(String(v), env)]));
      if (s.dicomweb !== undefined) {
        if (typeof s.dicomweb !== 'string' || !isDicomWebSeriesUrl(s.dicomweb)) {
          throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: dicomweb must be an http(s) URL ending in /studies/{uid}/series/{uid}`);
        }
        const u = new URL(s.dicomweb);
        if (s.s3 !== undefined) throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: s3 signing is for buckets, not DICOMweb`);
        const oauth2 = s.oauth2 === undefined ? undefined : checkOAuth2(id, s.oauth2, env);
        this.configured.set(id, {
          id,
          kind: 'config',
          spec: { location: u.href.replace(/\/$/, ''), dicomweb: true, headers, allow: [u.origin + '/', ...this.allowList], ...(oauth2 ? { oauth2 } : {}) },
        });
      } else if (s.dicom !== undefined) {
        if (!Array.isArray(s.dicom) || s.dicom.length === 0 || s.dicom.some((x) => typeof x !== 'string')) {
          throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: dicom must be a non-empty list of paths or URLs`);
        }
        const origins = new Set<string>();
        const locations = s.dicom.map((x) => {
          if (/^[a-z][a-z0-9+.-]*:\/\//i.test(x)) {
            const u = new URL(x);
            if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: only http(s) URLs`);
            origins.add(u.origin + '/');
            return u.href;
          }
          return isAbsolute(x) ? x : resolve(options.configDir ?? process.cwd(), x);
        });
        const s3 = s.s3 === undefined ? undefined : checkS3(id, s.s3);
        const oauth2 = s.oauth2 === undefined ? undefined : checkOAuth2(id, s.oauth2, env);
        if (s3 && oauth2) throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: s3 and oauth2 cannot both sign its requests`);
        const remote = origins.size > 0;
        this.configured.set(id, {
          id,
          kind: 'config',
          spec: {
            location: locations[0]!,
            locations,
            ...(remote ? { headers, allow: [...origins, ...this.allowList] } : {}),
            ...(s3 ? { s3 } : {}),
            ...(oauth2 ? { oauth2 } : {}),
          },
        });
      } else if (s.url !== undefined) {
        const u = new URL(s.url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: only http(s) URLs`);
        // a configured URL is trusted; redirects may stay on its own origin
        const s3 = s.s3 === undefined ? undefined : checkS3(id, s.s3);
        const oauth2 = s.oauth2 === undefined ? undefined : checkOAuth2(id, s.oauth2, env);
        if (s3 && oauth2) throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: s3 and oauth2 cannot both sign its requests`);
        const refresh = s.refresh === undefined ? undefined : checkRefresh(id, s.refresh);
        this.configured.set(id, {
          id,
          kind: 'config',
          spec: { location: u.href, headers, allow: [u.origin + '/', ...this.allowList], ...(s3 ? { s3 } : {}), ...(oauth2 ? { oauth2 } : {}), ...(refresh ? { refresh } : {}) },
        });
      } else if (s.path !== undefined) {
        const p = isAbsolute(s.path) ? s.path : resolve(options.configDir ?? process.cwd(), s.path);
        this.configured.set(id, { id, kind: 'config', spec: { location: p } });
      } else {
        throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id} has neither path, url, dicom nor dicomweb`);
      }
    }
    this.open = options.open ?? openSpec;
    this.listing = options.slidesDir
      ? new SlideListing(() => this.root(), (path) => this.open({ location: path }), options.listingTtlMs ?? 5000)
      : undefined;
  }

  /** Called with the entry of every slide found changed (caches derived from it drop their entries). */
  onChange(listener: (entry: SlideEntry) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * All listable ids (config + directory scan; ad-hoc remote ids are not
   * listed), each directory slide with what opening it found (vendor and size,
   * or the error code of a file that is not a readable slide).
   */
  async list(): Promise<ListedSlide[]> {
    const out: ListedSlide[] = [...this.configured.values()].map((e) => ({ id: e.id, kind: e.kind }));
    if (this.listing) for (const l of await this.listing.list()) if (!this.configured.has(l.id)) out.push(l);
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The entry of an id known without I/O (configured, or a directory id resolved in the last seconds). */
  private resolveKnown(id: string): SlideEntry | undefined {
    const c = this.configured.get(id);
    if (c) return c;
    const recent = this.resolved.get(id);
    return recent && recent.until > Date.now() ? recent.entry : undefined;
  }

  /** The source of an id: 404 when unknown, 403 when it names a URL outside the allow list. */
  async resolve(id: string): Promise<SlideEntry> {
    checkIdentifier(id);
    const c = this.configured.get(id);
    if (c) return c;
    const recent = this.resolved.get(id);
    if (recent && recent.until > Date.now()) return recent.entry;
    if (this.options.slidesDir) {
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
        // a file with a slide extension, or a folder holding the DICOM instances of one series
        const isSlideFile = st.isFile() && SLIDE_EXTENSIONS.some((e) => id.toLowerCase().endsWith(e));
        if (isSlideFile || (st.isDirectory() && (await hasDicomFile(real)))) {
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
      // a name (any name, localhost too) may only lead to public addresses; a private
      // one is reachable only as the IP literal an --allow prefix names itself
      const publicOnly = !isNonPublicLiteral(url.hostname);
      // a DICOMweb series URL is read with WADO-RS (series metadata, frames), anything else with ranges
      const dicomweb = isDicomWebSeriesUrl(url.href);
      return { id, kind: 'remote', spec: { location: url.href, ...(dicomweb ? { dicomweb } : {}), allow: this.allowList, ...(publicOnly ? { publicOnly } : {}) } };
    }
    throw new ImageboxError('E_NOT_FOUND', `no slide "${id}"`);
  }

  /**
   * Run `fn` with the open slide of `id`. The slide is checked against its
   * origin at most once per revalidation interval; if its bytes changed (found
   * now, or by `fn` meeting E_SOURCE_CHANGED), it is dropped and `fn` runs once
   * more on the slide opened afresh.
   */
  async use<T>(id: string, fn: (entry: SlideEntry, slide: Slide) => Promise<T>): Promise<T> {
    const entry = this.resolveKnown(id) ?? (await this.resolve(id));
    for (let attempt = 0; ; attempt++) {
      // the hot path (an open slide) waits for nothing before fn runs
      const lease = this.cache.tryAcquire(entry.id) ?? (await this.cache.acquire(entry.id, () => this.openEntry(entry)));
      try {
        const every = isRemote(entry.spec.location) ? this.revalidateRemoteMs : this.revalidateLocalMs;
        if (Date.now() - lease.checkedAt >= every) {
          lease.checkedAt = Date.now();
          const changed = await (lease.slide.source.revalidate?.() ?? Promise.resolve(false)).catch(() => false);
          if (changed) {
            this.dropChanged(entry, lease.slide);
            if (attempt === 0) continue;
          }
        }
        return await fn(entry, lease.slide);
      } catch (e) {
        if (attempt === 0 && isImageboxError(e, 'E_SOURCE_CHANGED')) {
          this.dropChanged(entry, lease.slide);
          continue;
        }
        throw e;
      } finally {
        lease.release();
      }
    }
  }

  /** Forget a slide whose bytes changed, and tell whoever cached something of it. */
  private dropChanged(entry: SlideEntry, slide: Slide): void {
    if (this.cache.peek(entry.id) !== slide) return; // someone else did already
    this.changes++;
    this.cache.invalidate(entry.id, slide);
    this.resolved.delete(entry.id);
    for (const l of [...this.changeListeners]) {
      try {
        l(entry);
      } catch {
        /* not ours */
      }
    }
  }

  private async openEntry(entry: SlideEntry): Promise<Slide> {
    const slide = await this.open(entry.spec);
    // a change found by any read of this slide (If-Range, a file that shrank) drops it at once
    slide.source.onChange?.(() => this.dropChanged(entry, slide));
    return slide;
  }

  openCount(): number {
    return this.cache.size;
  }

  /** Slides open now (for metrics). */
  openSlides(): Slide[] {
    return this.cache.openSlides();
  }

  async close(): Promise<void> {
    await this.cache.close();
  }

  private root(): Promise<string> {
    this.dirReal ??= realpath(this.options.slidesDir!).catch(() => {
      this.dirReal = undefined;
      throw new ImageboxError('E_NOT_FOUND', 'the slide directory does not exist (any more)');
    });
    return this.dirReal;
  }
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

function checkS3(id: string, a: unknown): S3Auth {
  const o = a as Partial<S3Auth> | null;
  if (!o || typeof o !== 'object' || typeof o.region !== 'string' || !/^[a-z0-9-]{1,32}$/.test(o.region)) {
    throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: s3 needs a region like "us-east-1"`);
  }
  if (o.service !== undefined && (typeof o.service !== 'string' || !/^[a-z0-9-]{1,32}$/.test(o.service))) {
    throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: bad s3 service`);
  }
  return { region: o.region, ...(o.service ? { service: o.service } : {}) };
}

function checkOAuth2(id: string, a: unknown, env: Record<string, string | undefined>): OAuth2ClientCredentials {
  const o = a as Record<string, unknown> | null;
  const str = (k: string): string | undefined => (typeof o?.[k] === 'string' ? expandEnv(o[k] as string, env) : undefined);
  const tokenUrl = str('tokenUrl');
  const clientId = str('clientId');
  const clientSecret = str('clientSecret');
  if (!tokenUrl || !clientId || !clientSecret) throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: oauth2 needs tokenUrl, clientId and clientSecret`);
  let u: URL;
  try {
    u = new URL(tokenUrl);
  } catch {
    throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: oauth2 tokenUrl is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: oauth2 tokenUrl must be http(s)`);
  return { tokenUrl: u.href, clientId, clientSecret, scope: str('scope') };
}

function checkRefresh(id: string, a: unknown): UrlRefresh {
  const o = a as UrlRefresh | null;
  const command = typeof o?.command === 'string' && o.command.trim() !== '' ? o.command : undefined;
  const url = typeof o?.url === 'string' ? o.url : undefined;
  if ((command === undefined) === (url === undefined)) throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: refresh needs a command or a url (one of them)`);
  if (url !== undefined && !/^https?:\/\//i.test(url)) throw new ImageboxError('E_BAD_REQUEST', `config: slide ${id}: refresh url must be http(s)`);
  return command !== undefined ? { command } : { url: url! };
}
