// One pixel job, as it runs inside a worker: render, orient, quality, encode.
import { ImageboxError } from '../../errors.js';
import type { Slide } from '../../slide/slide.js';
import type { Format, Quality } from '../iiif/request.js';
import type { Rect } from '../iiif/plan.js';
import type { SourceSpec } from '../registry.js';
import type { PixelBackend } from './backend.js';

export type PixelJob =
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

export async function runJob(backend: PixelBackend, slide: Slide, job: PixelJob, signal?: AbortSignal): Promise<JobResult> {
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
  let img = await backend.renderer.region(slide, job.level, r.x, r.y, r.w, r.h, job.width, job.height, signal);
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

