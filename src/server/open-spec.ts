// A SourceSpec -> Slide, the same way on the main thread and in pixel workers.
// Remote sources share one byte budget per thread for their span caches, so
// the sum over every open slide is bounded (docs/deployment.md: memory). A
// failed open closes what it opened (no file descriptor is left to the GC).
// A folder of DICOM instances, or a configured list of them, is one slide.
import { isMainThread } from 'node:worker_threads';
import { ByteBudget } from '../io/span-cache.js';
import { openByteSource } from '../io/open-source-node.js';
import { localFolder, openDicomWebSlide, openSlide } from '../node/open-slide.js';
import { dicomFolderFiles } from '../node/dicom-folder.js';
import { ImageboxError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import type { Slide } from '../slide/slide.js';
import { allowPredicate } from './allow.js';
import { credentialsFromEnv, sigV4Signer } from '../io/aws-sigv4.js';
import { oauth2Signer } from '../io/oauth2.js';
import { urlRefresher } from './url-refresher.js';
import { DiskOpenCache } from '../node/open-cache-disk.js';
import { tieredOpenCache, type OpenCacheStore } from '../io/open-cache.js';
import { openCacheOn } from '../io/shared-cache.js';
import { clusterCache, sharedBlockCache } from './cluster-cache.js';
import type { SourceSpec } from './registry.js';

const MiB = 1024 * 1024;

/** Span-cache bytes of all remote slides of this thread: 256 MiB on the main thread, 64 MiB in a pixel worker. */
export const SPAN_BUDGET_BYTES = isMainThread ? 256 * MiB : 64 * MiB;
const budget = new ByteBudget(SPAN_BUDGET_BYTES);

/** This thread's shared span-cache budget (for metrics). */
export function spanBudget(): ByteBudget {
  return budget;
}

let openCache: { dir: string | undefined; shared: string | undefined; store: OpenCacheStore | undefined } | undefined;

/**
 * The warm re-open store of this thread (src/io/open-cache.ts), from
 * IMAGEBOX_OPEN_CACHE (a directory; unset, empty or "off": none) and
 * IMAGEBOX_OPEN_CACHE_MB (its bound, default 256). `imagebox serve` sets them
 * (--open-cache, on by default); pixel workers inherit them. Remote slides only:
 * a local file has no scheduler, and its open costs a few preads anyway.
 * With a cluster cache (IMAGEBOX_SHARED_CACHE) the entries also go to Redis,
 * read when this node's disk has none: a slide opened by another node.
 */
export function openCacheStore(): OpenCacheStore | undefined {
  const dir = process.env['IMAGEBOX_OPEN_CACHE'];
  const on = dir !== undefined && dir !== '' && dir !== 'off' ? dir : undefined;
  const redis = clusterCache();
  const sharedUrl = redis ? process.env['IMAGEBOX_SHARED_CACHE'] : undefined;
  if (!openCache || openCache.dir !== on || openCache.shared !== sharedUrl) {
    const mb = process.env['IMAGEBOX_OPEN_CACHE_MB'];
    const maxBytes = mb !== undefined && /^\d{1,7}$/.test(mb) ? Number(mb) * MiB : undefined;
    const disk = on === undefined || maxBytes === 0 ? undefined : new DiskOpenCache(on, { maxBytes });
    const far = redis ? openCacheOn(redis) : undefined;
    openCache = { dir: on, shared: sharedUrl, store: disk && far ? tieredOpenCache(disk, far) : (disk ?? far) };
  }
  return openCache.store;
}

export async function openSpec(spec: SourceSpec): Promise<Slide> {
  if (spec.dicomweb) {
    // WADO-RS: the same headers, signer, allow list and public-only guard as a ranged URL
    return openDicomWebSlide(spec.location, {
      client: {
        headers: spec.headers ?? {},
        allow: allowPredicate(spec.allow ?? []),
        ...(spec.oauth2 ? { sign: oauth2Signer(spec.oauth2) } : {}),
      },
      publicOnly: spec.publicOnly === true,
      dicomweb: { budget },
    });
  }
  if (spec.locations) return openSeries(spec, spec.locations);
  const folder = await localFolder(spec.location);
  if (folder !== undefined) {
    const files = await dicomFolderFiles(folder);
    if (files.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', 'a folder without DICOM files');
    return openSeries(spec, files);
  }
  const source = openSource(spec, spec.location);
  try {
    return await openSlide(source, { openCache: openCacheStore() });
  } catch (e) {
    await source.close?.().catch(() => undefined);
    throw e;
  }
}

/** The files of one DICOM series, each through its own scheduler (closed again if the open fails). */
async function openSeries(spec: SourceSpec, locations: string[]): Promise<Slide> {
  const sources = locations.map((l) => openSource(spec, l));
  try {
    return await openSlide(sources);
  } catch (e) {
    await Promise.all(sources.map((s) => s.close?.().catch(() => undefined)));
    throw e;
  }
}

function openSource(spec: SourceSpec, location: string): ByteSource {
  const remote = /^https?:\/\//i.test(location);
  return openByteSource(
    location,
    remote
      ? {
          http: {
            headers: spec.headers ?? {},
            allow: allowPredicate(spec.allow ?? []),
            ...(spec.s3 ? { sign: sigV4Signer({ ...spec.s3, credentials: () => credentialsFromEnv(process.env) }) } : {}),
            ...(spec.oauth2 ? { sign: oauth2Signer(spec.oauth2) } : {}),
            ...(spec.refresh ? { refreshUrl: urlRefresher(spec.refresh) } : {}),
          },
          // the second cache level: the cluster's Redis, else the serve threads' store (--threads)
          scheduler: { budget, shared: sharedBlockCache() },
          publicOnly: spec.publicOnly === true,
        }
      : {},
  );
}
