// A PixelReader (what src/slide/region.ts needs to turn tiles into pixels) over
// the codec registry and the image-op kernels. Isomorphic.
import type { PixelReader } from '../contracts/pixels.js';
import { AreaResampler } from './area-resampler.js';
import { flatten } from './flatten.js';
import { decodeTile, type CodecContext } from './decode-tile.js';
import { composeRegion, resize } from './image-ops.js';
import { decodeChannelTile } from './tiff-lossless.js';

export function pixelReader(ctx: CodecContext): PixelReader {
  return {
    decode: (tile, scale = 1) => decodeTile(ctx, tile, scale),
    compose: (width, height, tiles) => composeRegion(ctx.kernels, width, height, tiles),
    resize: (img, width, height) => resize(ctx.kernels, img, width, height),
    flatten: (img) => flatten(img),
    bandResampler: (sw, sh, dw, dh) => new AreaResampler(ctx.kernels, sw, sh, dw, dh),
    channel: (tile) => decodeChannelTile(ctx.kernels, tile),
  };
}
