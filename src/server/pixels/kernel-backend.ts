// The pixel backend over one set of kernels and decoders, platform-neutral:
// regions read by the slide itself (src/slide/region.ts over the codec
// registry), orientation/quality by src/codecs/image-ops.ts, JPEG by our
// encoder, PNG by the encoder the platform gives (zlib in Node,
// CompressionStream in an isolate). default-backend.ts (worker threads) and the
// serverless handler both build theirs here.
import { ImageboxError } from '../../errors.js';
import { flatten } from '../../codecs/flatten.js';
import * as ops from '../../codecs/image-ops.js';
import { encodeJpeg } from '../../codecs/jpeg-encode.js';
import type { Kernels } from '../../codecs/kernels.js';
import type { PixelReader, RGBA } from '../../contracts/pixels.js';
import type { PixelBackend, RegionRenderer } from './backend.js';

/**
 * A level-0 region read at `level` (OpenSlide semantics), at the output size:
 * tiles decoded reduced from the DCT where that stays above the output size,
 * then only the remaining factor resampled (src/slide/region.ts).
 */
export const regionRenderer: RegionRenderer = {
  region: (slide, level, x0, y0, w, h, outW, outH, signal, display) => slide.readScaledRegion(level, x0, y0, w, h, outW, outH, signal, display),
};

export function kernelBackend(k: Kernels, px: PixelReader, encodePng: (img: RGBA, o: { grey?: boolean }) => Promise<Uint8Array>): PixelBackend {
  return {
    renderer: regionRenderer,
    async encode(img, format, o) {
      if (format === 'jpg') return encodeJpeg(k, flatten(img), { quality: o.quality, grey: o.grey });
      if (format === 'png') return encodePng(img, { grey: o.grey });
      throw new ImageboxError('E_BAD_REQUEST', `format ${format} is not encoded by this server`);
    },
    rotate: (img, deg) => ops.rotate(k, img, deg),
    mirror: (img) => ops.mirror(k, img),
    gray: (img) => ops.toGrey(k, img),
    bitonal: (img) => ops.toBitonal(k, img),
    resize: (img, w, h) => ops.resize(k, img, w, h),
    associated: (slide, name, signal) => slide.readAssociated(name, signal),
    decode: (tile) => px.decode(tile),
    tile: (slide, level, col, row, signal, display) => slide.readTile(level, col, row, signal, display),
  };
}
