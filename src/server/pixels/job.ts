// One pixel job, as it runs inside a worker: render, orient, quality, encode.
import { cropTo } from '../../codecs/crop.js';
import { ImageboxError } from '../../errors.js';
import type { Slide } from '../../slide/slide.js';
import type { EncodedTile } from '../../contracts/tile.js';
import type { RGBA } from '../../contracts/pixels.js';
import type { Format, Quality } from '../iiif/request.js';
import type { Rect } from '../iiif/plan.js';
import type { SourceSpec } from '../registry.js';
import type { ChannelDisplay } from '../../slide/channels.js';
import type { PixelBackend } from './backend.js';

export type PixelJob =
  | {
      /** A stored tile the main thread read: decoded to RGBA of its valid part, or to a JPEG of it. */
      kind: 'decode';
      tile: EncodedTile;
      format: 'rgba' | 'jpg';
      jpegQuality: number;
    }
  | {
      /** One tile read and decoded here (missing tiles re-rendered from the level above). */
      kind: 'tile';
      spec: SourceSpec;
      level: number;
      col: number;
      row: number;
      format: 'rgba' | 'jpg';
      jpegQuality: number;
      /** Multi-channel slides: the channels composited (the slide's default display when absent). */
      display?: ChannelDisplay;
    }
  | {
      kind: 'region';
      spec: SourceSpec;
      level: number;
      region: Rect;
      width: number;
      height: number;
      rotation: number;
      mirror: boolean;
      quality: Quality;
      format: Format;
      jpegQuality: number;
      /** Multi-channel slides: the channels composited (the slide's default display when absent). */
      display?: ChannelDisplay;
    }
  | {
      kind: 'associated';
      spec: SourceSpec;
      name: string;
      /** Fit inside (no upscaling); undefined = native size. */
      maxWidth?: number;
      maxHeight?: number;
      format: Format;
      jpegQuality: number;
    };

export interface JobResult {
  body: Uint8Array;
  width: number;
  height: number;
}

async function finishTile(backend: PixelBackend, img: RGBA, format: 'rgba' | 'jpg', jpegQuality: number): Promise<JobResult> {
  if (format === 'rgba') return { body: img.data, width: img.width, height: img.height };
  return { body: await backend.encode(img, 'jpg', { quality: jpegQuality, grey: false }), width: img.width, height: img.height };
}

/** A job that needs no slide: decode stored bytes the main thread already read. */
export async function runDecodeJob(backend: PixelBackend, job: Extract<PixelJob, { kind: 'decode' }>): Promise<JobResult> {
  if (!backend.decode) throw new ImageboxError('E_UNSUPPORTED_CODEC', 'this pixel backend does not decode tiles');
  const t = job.tile;
  const img = cropTo(await backend.decode(t), t.validWidth, t.validHeight);
  return finishTile(backend, img, job.format, job.jpegQuality);
}

export async function runJob(backend: PixelBackend, slide: Slide, job: Exclude<PixelJob, { kind: 'decode' }>, signal?: AbortSignal): Promise<JobResult> {
  if (job.kind === 'tile') {
    if (!backend.tile) throw new ImageboxError('E_UNSUPPORTED_CODEC', 'this pixel backend does not read tiles');
    return finishTile(backend, await backend.tile(slide, job.level, job.col, job.row, signal, job.display), job.format, job.jpegQuality);
  }
  if (job.kind === 'associated') {
    if (!backend.associated) throw new ImageboxError('E_UNSUPPORTED_CODEC', 'this pixel backend does not decode associated images');
    let img = await backend.associated(slide, job.name, signal);
    if (job.maxWidth && job.maxHeight && (img.width > job.maxWidth || img.height > job.maxHeight)) {
      const s = Math.min(job.maxWidth / img.width, job.maxHeight / img.height);
      const w = Math.max(1, Math.round(img.width * s));
      const h = Math.max(1, Math.round(img.height * s));
      img = await backend.resize(img, w, h);
    }
    const body = await backend.encode(img, job.format, { quality: job.jpegQuality, grey: false });
    return { body, width: img.width, height: img.height };
  }
  const { region: r } = job;
  let img = await backend.renderer.region(slide, job.level, r.x, r.y, r.w, r.h, job.width, job.height, signal, job.display);
  if (signal?.aborted) throw new ImageboxError('E_ABORTED', 'aborted');
  if (img.width !== job.width || img.height !== job.height) {
    throw new ImageboxError('E_INTERNAL', `renderer returned ${img.width}x${img.height}, asked ${job.width}x${job.height}`);
  }
  if (job.mirror) img = await backend.mirror(img);
  if (job.rotation) img = await backend.rotate(img, job.rotation);
  if (job.quality === 'gray') img = await backend.gray(img);
  else if (job.quality === 'bitonal') img = await backend.bitonal(img);
  const body = await backend.encode(img, job.format, { quality: job.jpegQuality, grey: job.quality === 'gray' || job.quality === 'bitonal' });
  return { body, width: img.width, height: img.height };
}

