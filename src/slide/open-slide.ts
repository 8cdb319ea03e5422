// openSlide: a ByteSource (or a path/URL, resolved by an injected opener) -> Slide.
// Isomorphic: the Node entry (src/node/open-slide.ts) injects file and undici sources.
import { asImageboxError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { readLayout } from '../formats/read-layout.js';
import { openTiff, type TiffOpenOptions } from '../formats/tiff/tiff-file.js';
import { Slide, type SlideOptions } from './slide.js';

export interface OpenSlideOptions extends SlideOptions {
  tiff?: TiffOpenOptions;
  /** Turns a path or URL into a ByteSource (injected by the platform entry). */
  openSource?: (location: string) => ByteSource | Promise<ByteSource>;
}

export async function openSlide(input: string | ByteSource, options: OpenSlideOptions = {}): Promise<Slide> {
  let source: ByteSource;
  if (typeof input === 'string') {
    if (!options.openSource) throw new Error('openSlide(string) needs options.openSource on this platform');
    source = await options.openSource(input);
  } else {
    source = input;
  }
  try {
    const tiff = await openTiff(source, options.tiff);
    return new Slide(source, tiff, readLayout(tiff), options);
  } catch (e) {
    if (typeof input === 'string') await source.close?.().catch(() => undefined);
    throw asImageboxError(e, 'E_MALFORMED');
  }
}
