// The cluster's shared cache (IMAGEBOX_SHARED_CACHE=redis://…, set by `imagebox
// serve --shared-cache`): one Redis client per thread that opens remote slides
// (the main thread or each serve thread, and each pixel worker), made when the
// first remote slide is opened. Without it, a --threads serve thread's second
// level is the main thread's store (src/server/threads/thread-cache.ts).
import { RedisSharedCache } from '../node/redis-cache.js';
import { threadSharedCache, type SharedCache } from '../io/shared-cache.js';

let cluster: { url: string; cache: RedisSharedCache } | undefined;

/** The Redis shared cache IMAGEBOX_SHARED_CACHE names, or undefined (unset, empty or "off"). */
export function clusterCache(): RedisSharedCache | undefined {
  const url = process.env['IMAGEBOX_SHARED_CACHE'];
  if (url === undefined || url === '' || url === 'off') return undefined;
  if (cluster?.url !== url) {
    void cluster?.cache.close();
    cluster = { url, cache: new RedisSharedCache(url) };
  }
  return cluster.cache;
}

/** The second level of this thread's range schedulers: the cluster's, else the serve threads', else none. */
export function sharedBlockCache(): SharedCache | undefined {
  return clusterCache() ?? threadSharedCache();
}

/** The cluster cache's counters, when one was made (for /metrics). */
export function clusterCacheStats(): ReturnType<RedisSharedCache['stats']> | undefined {
  return cluster?.cache.stats();
}

/** Close this thread's Redis client (shutdown; lets the event loop end). */
export async function closeClusterCache(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  await c?.cache.close();
}
