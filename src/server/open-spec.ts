// A SourceSpec -> Slide, the same way on the main thread and in pixel workers.
import { openByteSource } from '../io/open-source-node.js';
import { openSlide } from '../node/open-slide.js';
import type { Slide } from '../slide/slide.js';
import { allowPredicate } from './allow.js';
import type { SourceSpec } from './registry.js';

export function openSpec(spec: SourceSpec): Promise<Slide> {
  const remote = /^https?:\/\//i.test(spec.location);
  return openSlide(
    openByteSource(
      spec.location,
      remote ? { http: { headers: spec.headers ?? {}, allow: allowPredicate(spec.allow ?? []) } } : {},
    ),
  );
}
