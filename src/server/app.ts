// The Node server: createImageboxCore (core.ts: routing, metrics, the error
// contract) wired to the SlideRegistry (files, directories, remote URLs), the
// pixel worker pool, the WebSocket stream host and the web directory.
import { createImageboxCore, type ImageboxCore, type ImageboxCoreOptions } from './core.js';
import { staticHandler } from './handlers/static.js';
import type { PixelRunner } from './images.js';
import { PixelPool, type PoolOptions } from './pixels/pool.js';
import { SlideRegistry, type RegistryOptions } from './registry.js';
import { ServerStreamHost, type StreamHostOptions } from './stream-host.js';
import { clusterCacheStats } from './cluster-cache.js';

export interface ImageboxOptions extends Omit<ImageboxCoreOptions, 'registry' | 'pixels' | 'poolStats' | 'sharedCacheStats' | 'stream' | 'staticFiles' | 'onClose'> {
  registry: SlideRegistry | RegistryOptions;
  /** The pixel runner (default: a worker pool with these options). */
  pixels?: PixelRunner | PoolOptions;
  /** The WebSocket tile stream's shared parts (caches, decode sharing). */
  stream?: StreamHostOptions;
}

export interface Imagebox extends ImageboxCore {
  /** What every stream session shares (src/server/uws/stream-endpoint.ts attaches the sessions). */
  stream: ServerStreamHost;
}

export function createImagebox(o: ImageboxOptions): Imagebox {
  const registry = o.registry instanceof SlideRegistry ? o.registry : new SlideRegistry(o.registry);
  const ownPool = !(o.pixels && 'run' in o.pixels);
  const pixels: PixelRunner = o.pixels && 'run' in o.pixels ? o.pixels : new PixelPool((o.pixels as PoolOptions | undefined) ?? {});
  const stream = new ServerStreamHost(registry, pixels, o.stream);
  const core = createImageboxCore({
    ...o,
    registry,
    pixels,
    stream,
    ...(pixels instanceof PixelPool ? { poolStats: () => pixels.stats() } : {}),
    sharedCacheStats: clusterCacheStats,
    staticFiles: (req) => staticHandler(o.webDir, req, o.osdDir),
    onClose: async () => {
      if (ownPool && pixels instanceof PixelPool) await pixels.close();
    },
  });
  // the same object (transports set streamConnections on it)
  return Object.assign(core, { stream });
}
