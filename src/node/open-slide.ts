// Node entry for opening slides: paths, file: URLs and http(s) URLs (undici),
// always behind a RangeScheduler.
import { openByteSource, type OpenSourceOptions } from '../io/open-source-node.js';
import { openSlide as openSlideCore, type OpenSlideOptions } from '../slide/open-slide.js';
import type { ByteSource } from '../io/byte-source.js';
import type { Slide } from '../slide/slide.js';
import { nodePixelReader } from '../codecs/pixel-reader-node.js';

export interface NodeOpenSlideOptions extends OpenSlideOptions {
  source?: OpenSourceOptions;
}

export async function openSlide(input: string | URL | ByteSource, options: NodeOpenSlideOptions = {}): Promise<Slide> {
  const location = input instanceof URL ? input.href : input;
  return openSlideCore(location, {
    ...options,
    pixels: options.pixels ?? (await nodePixelReader()),
    openSource: options.openSource ?? ((where) => openByteSource(where, options.source)),
  });
}
