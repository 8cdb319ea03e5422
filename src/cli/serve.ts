// `imagebox serve`: the IIIF / DeepZoom / JSON server. With neither --slides
// nor --config, serves the bundled samples/ directory.
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, type RegistryOptions } from '../server/registry.js';
import { startServer } from '../server/serve.js';
import { normaliseOrigin } from '../server/cors.js';
import { integerArg, parseCommandLine, UsageError } from './args.js';
import type { AccessControl } from '../server/access.js';
import { accessFromEnv } from './token.js';
import { parseLimits, type ServeLimits } from './limits.js';
import { DEFAULT_LIMITS } from '../server/iiif/plan.js';
import { defaultOpenCacheDir } from '../node/open-cache-disk.js';
import { isRedisUrl, redisDisplay } from '../node/redis-cache.js';
import { closeClusterCache } from '../server/cluster-cache.js';
import { availableParallelism } from 'node:os';
import { startThreadedServer } from '../server/threads/threaded-server.js';

export const SERVE_USAGE = `usage: imagebox serve [--port 8080] [--host 0.0.0.0] [--slides DIR] [--config FILE]
                     [--allow URL-PREFIX ...] [--base-url URL] [--trust-proxy] [--workers N]
                     [--cache-mb 256] [--direct] [--reuse-port] [--no-iiif-prefetch] [--immutable]
                     [--origin-connections 64] [--cors-origin URL ...] [--require-token]
                     [--limit NAME=VALUE ...] [--drain-seconds 10]
                     [--open-cache DIR|off] [--open-cache-mb 256] [--threads N]
                     [--shared-cache redis://HOST:PORT|off]

  --threads N       uWS serve threads on the one port (default: one per core; 1: the
                    main thread alone). They share the pixel pool, a second cache level
                    of --cache-mb on the main thread, and the stream connection bound;
                    a stream stays on the thread that accepted it
  --shared-cache URL a cluster's shared cache: the blocks of remote slides and their
                    warm re-open entries in Redis (redis://[user:pass@]host[:port][/db],
                    rediss:// for TLS; IMAGEBOX_SHARED_CACHE), so a slide another node
                    read costs this one a single validating request. A cache: when
                    Redis is down or slow (250 ms) the origins answer

  --immutable       the slides' files never change under their ids (an archive): image
                    answers are Cache-Control "public, max-age=31536000, immutable" for a
                    CDN and browsers (default: a day, then revalidated by ETag)
  --require-token   every IIIF, DeepZoom, JSON API, /metrics and stream request needs
                    a token signed with IMAGEBOX_TOKEN_SECRET (>= 32 bytes; make one
                    with "imagebox token"); the viewer's pages and /health stay open
  --limit NAME=N    move a bound: maxWidth, maxHeight, maxArea (IIIF output), maxSourcePixels
                    (pixels one answer may decode), streamConnections, streamMessageBytes,
                    streamSlidesPerConnection, streamViewPixels, streamViewsPerSecond,
                    streamIdleSeconds, streamInFlightBytes (docs/deployment.md)
  --drain-seconds N on SIGTERM/SIGINT: stop accepting, close streams (1001), give requests
                    in flight N s to finish (default 10); a second signal stops at once
  --open-cache DIR  keep what opening a remote slide read (its directory structure) in
                    DIR (mode 0700), so opening it again, here or in another process,
                    costs one validating request; default: a directory under the system
                    temp dir (IMAGEBOX_OPEN_CACHE), "off": none. --open-cache-mb bounds it
`;

/** The project root (dist/cli/serve.js or src/cli/serve.ts -> ../../). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServeArgs {
  port: number;
  host: string;
  slides: string | undefined;
  config: string | undefined;
  allow: string[];
  baseUrl: string | undefined;
  trustProxy: boolean;
  workers: number | undefined;
  cacheMb: number;
  direct: boolean;
  reusePort: boolean;
  iiifPrefetch: boolean;
  immutable: boolean;
  /** Keep-alive connections per remote origin (undefined: the transport's default, 64). */
  originConnections: number | undefined;
  /** Web origins allowed to read answers (CORS); empty: any. */
  corsOrigins: string[];
  /** Access control on (the secret from IMAGEBOX_TOKEN_SECRET). */
  requireToken: boolean;
  limits: ServeLimits;
  /** On SIGTERM/SIGINT: seconds in-flight requests get to finish. */
  drainSeconds: number;
  /** Warm re-open store directory ("off": none; undefined: IMAGEBOX_OPEN_CACHE, else the default under the temp dir). */
  openCache: string | undefined;
  /** Its bound in MiB (undefined: IMAGEBOX_OPEN_CACHE_MB, else 256). */
  openCacheMb: number | undefined;
  /** uWS serve threads (1: the main thread alone). */
  threads: number;
  /** The cluster's Redis URL ("off": none; undefined: IMAGEBOX_SHARED_CACHE, else none). */
  sharedCache: string | undefined;
}

/** One serve thread per core (IMAGEBOX_THREADS overrides: tests and containers with a CPU quota). */
function defaultThreads(): number {
  const env = process.env['IMAGEBOX_THREADS'];
  if (env !== undefined && /^\d{1,2}$/.test(env) && Number(env) >= 1) return Math.min(64, Number(env));
  return Math.max(1, Math.min(64, availableParallelism()));
}

export function parseServeArgs(argv: string[]): ServeArgs {
  const { values: v, positionals } = parseCommandLine(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      slides: { type: 'string' },
      config: { type: 'string' },
      allow: { type: 'string', multiple: true },
      'base-url': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      workers: { type: 'string' },
      'cache-mb': { type: 'string' },
      direct: { type: 'boolean' },
      'reuse-port': { type: 'boolean' },
      'no-iiif-prefetch': { type: 'boolean' },
      immutable: { type: 'boolean' },
      'origin-connections': { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      'require-token': { type: 'boolean' },
      limit: { type: 'string', multiple: true },
      'drain-seconds': { type: 'string' },
      'open-cache': { type: 'string' },
      'open-cache-mb': { type: 'string' },
      threads: { type: 'string' },
      'shared-cache': { type: 'string' },
    },
    SERVE_USAGE,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]!.slice(0, 64)}`, SERVE_USAGE);
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const a: ServeArgs = {
    port: integerArg('--port', str('port') ?? '8080', 0, 65535, SERVE_USAGE),
    host: str('host') ?? '0.0.0.0',
    slides: str('slides'),
    config: str('config'),
    allow: v['allow'] as string[],
    baseUrl: str('base-url'),
    trustProxy: v['trust-proxy'] === true,
    workers: str('workers') === undefined ? undefined : integerArg('--workers', str('workers'), 1, 256, SERVE_USAGE),
    cacheMb: integerArg('--cache-mb', str('cache-mb') ?? '256', 0, 1 << 20, SERVE_USAGE),
    direct: v['direct'] === true,
    reusePort: v['reuse-port'] === true,
    iiifPrefetch: v['no-iiif-prefetch'] !== true,
    immutable: v['immutable'] === true,
    corsOrigins: (v['cors-origin'] as string[] | undefined) ?? [],
    requireToken: v['require-token'] === true,
    limits: parseLimits((v['limit'] as string[] | undefined) ?? [], SERVE_USAGE),
    drainSeconds: integerArg('--drain-seconds', str('drain-seconds') ?? '10', 0, 3600, SERVE_USAGE),
    originConnections: str('origin-connections') === undefined ? undefined : integerArg('--origin-connections', str('origin-connections'), 1, 1024, SERVE_USAGE),
    openCache: str('open-cache'),
    openCacheMb: str('open-cache-mb') === undefined ? undefined : integerArg('--open-cache-mb', str('open-cache-mb'), 0, 1 << 20, SERVE_USAGE),
    threads: str('threads') === undefined ? defaultThreads() : integerArg('--threads', str('threads'), 1, 64, SERVE_USAGE),
    sharedCache: str('shared-cache'),
  };
  const shared = a.sharedCache ?? process.env['IMAGEBOX_SHARED_CACHE'];
  // the URL may carry a password: never echoed
  if (shared !== undefined && shared !== '' && shared !== 'off' && !isRedisUrl(shared))
    throw new UsageError(`${a.sharedCache !== undefined ? '--shared-cache' : 'IMAGEBOX_SHARED_CACHE'}: redis://[user:password@]host[:port][/db], rediss://…, or "off"`, SERVE_USAGE);
  if (a.openCache === '') throw new UsageError('--open-cache: a directory, or "off"', SERVE_USAGE);
  for (const c of a.corsOrigins) if (!normaliseOrigin(c)) throw new UsageError(`--cors-origin ${c.slice(0, 100)}: not an origin (scheme://host[:port])`, SERVE_USAGE);
  if (a.reusePort && !a.direct) throw new UsageError('--reuse-port needs --direct (the front door binds its port exclusively)', SERVE_USAGE);
  return a;
}

export async function runServe(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  const a = parseServeArgs(argv);
  // read by the shared HTTP transport of this thread and of the pixel workers
  if (a.originConnections !== undefined) process.env['IMAGEBOX_ORIGIN_CONNECTIONS'] = String(a.originConnections);
  // the warm re-open store (src/server/open-spec.ts), on by default; pixel workers inherit it
  process.env['IMAGEBOX_OPEN_CACHE'] = a.openCache ?? process.env['IMAGEBOX_OPEN_CACHE'] ?? defaultOpenCacheDir();
  if (a.openCacheMb !== undefined) process.env['IMAGEBOX_OPEN_CACHE_MB'] = String(a.openCacheMb);
  // the cluster's shared cache (src/server/cluster-cache.ts); serve threads and pixel workers inherit it
  if (a.sharedCache !== undefined) process.env['IMAGEBOX_SHARED_CACHE'] = a.sharedCache;
  const sharedCache = process.env['IMAGEBOX_SHARED_CACHE'];
  const cluster = sharedCache !== undefined && sharedCache !== '' && sharedCache !== 'off' ? redisDisplay(sharedCache) : undefined;
  const registry: RegistryOptions = { allow: a.allow };
  if (a.config) Object.assign(registry, await loadConfig(a.config));
  registry.slidesDir = a.slides ?? (a.config ? undefined : `${ROOT}samples`);
  if (registry.slidesDir !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(registry.slidesDir).isDirectory();
    } catch {
      throw new UsageError(`--slides ${registry.slidesDir}: no such directory`, SERVE_USAGE);
    }
    if (!isDir) throw new UsageError(`--slides ${registry.slidesDir}: not a directory`, SERVE_USAGE);
  }
  let access: AccessControl | undefined;
  if (a.requireToken) access = accessFromEnv(SERVE_USAGE);
  const web = `${ROOT}dist/web`;
  const osd = `${ROOT}node_modules/openseadragon/build/openseadragon`;
  const serve = {
    registry,
    baseUrl: a.baseUrl,
    trustProxy: a.trustProxy,
    webDir: existsSync(web) ? web : undefined,
    osdDir: existsSync(osd) ? osd : undefined,
    // --threads: every thread's answer cache gets its share (the second level on the main thread holds --cache-mb)
    images: { cacheBytes: Math.floor((a.cacheMb * 1024 * 1024) / a.threads), neighbourPrefetch: a.iiifPrefetch, immutable: a.immutable },
    corsOrigins: a.corsOrigins,
    limits: { ...DEFAULT_LIMITS, ...a.limits.iiif },
    maxStreamConnections: a.limits.streamConnections,
    session: { limits: a.limits.stream, ...(a.limits.streamInFlightBytes !== undefined ? { maxInFlightBytes: a.limits.streamInFlightBytes } : {}) },
  };
  let server: { bound: string; url: string; streamConnections(): number; close(o: { graceMs: number }): Promise<{ cut: number }> };
  try {
    if (a.threads > 1) {
      server = await startThreadedServer({
        threads: a.threads,
        host: a.host,
        port: a.port,
        direct: a.direct,
        reusePort: a.reusePort,
        serve,
        requireToken: access !== undefined,
        pixels: { size: a.workers },
        sharedCacheBytes: a.cacheMb * 1024 * 1024,
        ...(a.limits.streamConnections !== undefined ? { maxStreamConnections: a.limits.streamConnections } : {}),
      });
    } else {
      const one = await startServer({
        ...serve,
        host: a.host,
        port: a.port,
        direct: a.direct,
        reusePort: a.reusePort,
        pixels: { size: a.workers },
        access,
        onError: (e, req) => process.stderr.write(`imagebox: ${req.method} ${req.path.slice(0, 200)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`),
      });
      server = { bound: one.bound, url: one.url, streamConnections: () => one.box.streamConnections(), close: (o) => one.close(o) };
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      process.stderr.write(`imagebox: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
  process.stdout.write(
    `imagebox: listening on ${server.bound}${a.direct ? ', direct (no front door)' : ''}${a.threads > 1 ? `, ${a.threads} threads` : ''}${cluster ? `, shared cache ${cluster}` : ''}; open ${server.url}/ (IIIF at /iiif/3/, DeepZoom at /dzi/, slides at /slides)${access ? '; tokens required' : ''}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // graceful: in-flight answers finish (up to --drain-seconds), streams get 1001; a second signal stops at once
  const again = (): void => {
    process.stderr.write('imagebox: stopped before the drain finished\n');
    process.exit(1);
  };
  process.once('SIGINT', again);
  process.once('SIGTERM', again);
  process.stderr.write(`imagebox: shutting down: ${server.streamConnections()} stream(s) closed, requests in flight get ${a.drainSeconds} s to finish\n`);
  const { cut } = await server.close({ graceMs: a.drainSeconds * 1000 });
  await closeClusterCache();
  process.stderr.write(`imagebox: stopped${cut > 0 ? ` (${cut} request(s) cut at the deadline)` : ''}\n`);
  return 0;
}
