// What every handler gets: the registry, the image service, limits, options.
import type { Limits } from './iiif/plan.js';
import type { Format } from './iiif/request.js';
import type { ImageService } from './images.js';
import type { Metrics } from './metrics.js';
import type { PixelRunner } from './images.js';
import type { SlideRegistry } from './registry.js';

export interface ServerContext {
  registry: SlideRegistry;
  images: ImageService;
  pixels: PixelRunner;
  metrics: Metrics;
  limits: Limits;
  formats: Format[];
  /** Public base URL (scheme://host[:port][/prefix]); default: from the request's Host. */
  baseUrl: string | undefined;
  /** Believe X-Forwarded-Host / X-Forwarded-Proto (only behind a proxy you run). */
  trustProxy: boolean;
  /** Directory of static files served at / (web/). */
  webDir: string | undefined;
  /** OpenSeadragon's build directory, served at /osd/ (else web/osd/ if present). */
  osdDir: string | undefined;
}
