// The codec registry: a stored tile (EncodedTile) -> RGBA, chosen by its TIFF
// Compression tag. JPEG through our WASM decoder (DCT-scaled for 1/2, 1/4, 1/8),
// JPEG 2000 through OpenJPEG (reduced resolutions), LZW / Deflate / none through
// the kernels, then the TIFF photometric interpretation. Isomorphic.

import { ImageboxError } from '../errors.js';
import { Compression, Photometric, type EncodedTile } from '../contracts/tile.js';
import { type RGBA } from '../contracts/pixels.js';
import { resize } from './image-ops.js';
import { decodeJpeg, type JpegColorTransform } from './jpeg.js';
import type { Jpeg2000Decoder } from './jpeg2000.js';
import type { JpegLsDecoder } from './jpegls.js';
import type { Kernels } from './kernels.js';
import { decodeLosslessTile } from './tiff-lossless.js';

export type Scale = 1 | 2 | 4 | 8;

export interface CodecContext {
  kernels: Kernels;
  /** OpenJPEG, loaded on first use (it is large). */
  jpeg2000: () => Promise<Jpeg2000Decoder>;
  /** CharLS for JPEG-LS (DICOM), loaded on first use; absent where the platform does not bundle it. */
  jpegls?: () => Promise<JpegLsDecoder>;
}

type Decoder = (ctx: CodecContext, tile: EncodedTile, scale: Scale) => Promise<RGBA>;

/** JPEG colour: Photometric RGB means R,G,B components (Aperio), whatever the stream suggests. */
function jpegColor(photometric: number): JpegColorTransform {
  if (photometric === Photometric.Rgb) return 'none';
  if (photometric === Photometric.YCbCr) return 'ycbcr';
  return 'auto';
}

const jpeg: Decoder = async (ctx, t, scale) =>
  decodeJpeg(ctx.kernels, t.bytes, { tables: t.jpegTables, colorTransform: jpegColor(t.photometric), scale });

const jpeg2000: Decoder = async (ctx, t, scale) => {
  const d = await ctx.jpeg2000();
  return d.decode(ctx.kernels, t.bytes, { compression: t.compression, reduce: Math.log2(scale) });
};

const lossless: Decoder = (ctx, t) => decodeLosslessTile(ctx.kernels, t);

const jpegls: Decoder = async (ctx, t) => {
  if (!ctx.jpegls) throw new ImageboxError('E_UNSUPPORTED_CODEC', 'JPEG-LS is not decoded on this platform');
  return (await ctx.jpegls()).decode(ctx.kernels, t.bytes, { width: t.width, height: t.height });
};

/** Codecs with native reduced-resolution decoding; the others are decoded whole and area-averaged. */
const SCALES_NATIVELY = new Set<number>([Compression.Jpeg, Compression.Jp2kYCbCr, Compression.Jp2kRgb]);

export const CODECS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [Compression.Jpeg, jpeg],
  [Compression.Jp2kYCbCr, jpeg2000],
  [Compression.Jp2kRgb, jpeg2000],
  [Compression.Lzw, lossless],
  [Compression.AdobeDeflate, lossless],
  [Compression.Deflate, lossless],
  [Compression.None, lossless],
  [Compression.JpegLs, jpegls],
]);

/**
 * Decode a stored tile to RGBA at 1/scale of its size (ceil): JPEG and JPEG 2000
 * give the full stored tile (edge padding included), the lossless codecs only its
 * valid part; either way callers crop with validWidth/validHeight.
 * Every failure is an ImageboxError (E_CORRUPT_TILE, E_UNSUPPORTED_CODEC, ...).
 */
export async function decodeTile(ctx: CodecContext, tile: EncodedTile, scale: Scale = 1): Promise<RGBA> {
  if (tile.missing) throw new ImageboxError('E_NOT_FOUND', `tile (${tile.col}, ${tile.row}) of level ${tile.level} is missing`);
  const codec = CODECS.get(tile.compression);
  if (!codec) throw new ImageboxError('E_UNSUPPORTED_CODEC', `TIFF compression ${tile.compression}`);
  let img: RGBA;
  try {
    img = await codec(ctx, tile, scale);
  } catch (e) {
    if (e instanceof ImageboxError) throw e;
    throw new ImageboxError('E_CORRUPT_TILE', `tile (${tile.col}, ${tile.row}): ${(e as Error).message}`, undefined, e);
  }
  if (scale === 1 || SCALES_NATIVELY.has(tile.compression)) return img;
  return resize(ctx.kernels, img, Math.ceil(img.width / scale), Math.ceil(img.height / scale));
}
