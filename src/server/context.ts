// What every handler gets: the registry, the image service, limits, options.
import type { Limits } from './iiif/plan.js';
import type { Format } from './iiif/request.js';
import type { ImageService } from './images.js';
import type { Metrics } from './metrics.js';
import type { PixelRunner } from './images.js';
import type { SlideEntry } from './registry.js';
import type { Slide } from '../slide/slide.js';
import type { ListedSlide } from './slide-listing.js';

/** What the handlers need of a registry: SlideRegistry (Node), RemoteSlides (serverless). */
export interface SlideDirectory {
  readonly rights: string | undefined;
  /** The source of an id: E_NOT_FOUND when unknown, E_FORBIDDEN when it names a URL outside the allow list. */
  resolve(id: string): Promise<SlideEntry>;
  /** Run `fn` with the open slide of `id`. */
  use<T>(id: string, fn: (entry: SlideEntry, slide: Slide) => Promise<T>): Promise<T>;
  list(): Promise<ListedSlide[]>;
  /** Called with the entry of every slide found changed. */
  onChange(listener: (entry: SlideEntry) => void): () => void;
  openSlides(): Slide[];
  openCount(): number;
  close(): Promise<void>;
}

export interface ServerContext {
  registry: SlideDirectory;
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
