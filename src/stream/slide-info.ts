// What a SLIDE frame says about a slide, built once for the server's host and
// the host without a server (direct mode). Isomorphic.
import type { Slide } from '../slide/slide.js';
import type { OpenedSlide } from './host.js';
import { iccProfileField } from './icc.js';

/** The slide's SLIDE info under `id`; `url` when a browser may read the slide itself. */
export function slideInfo(id: string, slide: Slide, url: string | undefined): OpenedSlide['info'] {
  return {
    id,
    vendor: slide.vendor,
    width: slide.width,
    height: slide.height,
    levels: slide.levels.map((l) => ({ ...l })),
    mppX: slide.mppX ?? null,
    mppY: slide.mppY ?? null,
    objectivePower: slide.objectivePower ?? null,
    associated: slide.associatedImages,
    ...(slide.channels ? { channels: slide.channels } : {}),
    ...(url ? { url } : {}),
    ...iccProfileField(slide.iccProfile),
  };
}
