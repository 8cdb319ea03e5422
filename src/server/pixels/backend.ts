// The seam between the server and the pixel code. A worker thread loads one
// backend module (default: ./default-backend.ts; tests inject their own) that
// exports `createBackend(): Promise<PixelBackend>`.
import type { Slide } from '../../slide/slide.js';
import type { RGBA } from '../../contracts/pixels.js';
import type { EncodedTile } from '../../contracts/tile.js';
import type { Format } from '../iiif/request.js';
import type { ChannelDisplay } from '../../slide/channels.js';

/** Renders a level-0 region (x0, y0, w, h) of a slide, read from `level`, resampled to outW x outH. */
export interface RegionRenderer {
  region(slide: Slide, level: number, x0: number, y0: number, w: number, h: number, outW: number, outH: number, signal?: AbortSignal, display?: ChannelDisplay): Promise<RGBA>;
}

export interface EncodeOptions {
  /** JPEG quality 1..100. */
  quality: number;
  /** The image is grey (R = G = B): a one-component JPEG is enough. */
  grey: boolean;
}

export interface PixelBackend {
  renderer: RegionRenderer;
  encode(img: RGBA, format: Format, opts: EncodeOptions): Promise<Uint8Array>;
  /** Clockwise quarter turns. */
  rotate(img: RGBA, degrees: number): RGBA | Promise<RGBA>;
  /** Left-right. */
  mirror(img: RGBA): RGBA | Promise<RGBA>;
  gray(img: RGBA): RGBA | Promise<RGBA>;
  bitonal(img: RGBA): RGBA | Promise<RGBA>;
  /** A whole associated image (label, macro, thumbnail) as RGBA. */
  associated?(slide: Slide, name: string, signal?: AbortSignal): Promise<RGBA>;
  /** Resample (area average down, bilinear up). */
  resize(img: RGBA, width: number, height: number): RGBA | Promise<RGBA>;
  /** One stored tile decoded (its full stored size for JPEG; callers crop to the valid part). */
  decode?(tile: EncodedTile): Promise<RGBA>;
  /** One tile of a slide as readTile gives it (valid part; missing tiles re-rendered). */
  tile?(slide: Slide, level: number, col: number, row: number, signal?: AbortSignal, display?: ChannelDisplay): Promise<RGBA>;
}

export type CreateBackend = () => Promise<PixelBackend>;
