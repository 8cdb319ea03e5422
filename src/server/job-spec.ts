// The spec a pixel job carries (platform-neutral: no registry, no node: module).
import type { Slide } from '../slide/slide.js';
import type { SlideEntry, SourceSpec } from './registry.js';

/** The spec a pixel job carries: the entry's, pinned to the bytes this slide was opened from. */
export function jobSpec(entry: SlideEntry, slide: Slide): SourceSpec {
  const version = slide.source.validator?.();
  return version === undefined ? entry.spec : { ...entry.spec, version };
}
