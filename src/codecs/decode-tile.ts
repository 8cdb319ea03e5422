// The codec registry: a stored tile (EncodedTile) -> RGBA, chosen by its TIFF
// Compression tag. JPEG through our WASM decoder (DCT-scaled for 1/2, 1/4, 1/8),
// JPEG 2000 through OpenJPEG (reduced resolutions), LZW / Deflate / none through
// the kernels, then the TIFF photometric interpretation. Isomorphic.

import { ImageboxError } from '../errors.js';
import { Compression, Photometric, type EncodedTile, type RGBA } from '../slide/types.js';
import { decodeDeflateTile } from './deflate.js';
import { resize, samplesToRgba } from './image-ops.js';
import { decodeJpeg, type JpegColorTransform } from './jpeg.js';
import type { Jpeg2000Decoder } from './jpeg2000.js';
import type { Kernels } from './kernels.js';
import { decodeLzwTile } from './lzw.js';

export type Scale = 1 | 2 | 4 | 8;

export interface CodecContext {
  kernels: Kernels;
  /** OpenJPEG, loaded on first use (it is large). */
  jpeg2000: () => Promise<Jpeg2000Decoder>;
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

/** Rows actually stored: a tile is always full height; the last strip stops at the image. */
function storedRows(t: EncodedTile): number {
  return t.tiled ? t.height : t.validHeight;
}

function checkSamples(t: EncodedTile): void {
  if (t.bitsPerSample !== 8) throw new ImageboxError('E_UNSUPPORTED_CODEC', `${t.bitsPerSample}-bit samples`);
  if (t.planarConfig !== 1 && t.samplesPerPixel > 1) {
    throw new ImageboxError('E_UNSUPPORTED_CODEC', 'planar (separate) sample layout');
  }
  if (
    t.photometric !== Photometric.Rgb &&
    t.photometric !== Photometric.MinIsBlack &&
    t.photometric !== Photometric.MinIsWhite
  ) {
    throw new ImageboxError('E_UNSUPPORTED_CODEC', `photometric ${t.photometric} without JPEG compression`);
  }
}

/** Raw samples of the whole stored tile -> RGBA of the full stored size. */
function samplesTile(ctx: CodecContext, t: EncodedTile, samples: Uint8Array): RGBA {
  const rows = storedRows(t);
  const img = samplesToRgba(ctx.kernels, samples, t.width, rows, t.samplesPerPixel, t.width, rows);
  if (t.photometric === Photometric.MinIsWhite) {
    const d = img.data;
    for (let i = 0; i < d.length; i += 4) {
      d[i] = 255 - d[i]!;
      d[i + 1] = 255 - d[i + 1]!;
      d[i + 2] = 255 - d[i + 2]!;
    }
  }
  return img;
}

function layout(t: EncodedTile) {
  return {
    width: t.width,
    height: storedRows(t),
    samplesPerPixel: t.samplesPerPixel,
    bitsPerSample: t.bitsPerSample,
    littleEndian: true,
    predictor: t.predictor,
  };
}

const lzw: Decoder = async (ctx, t) => {
  checkSamples(t);
  return samplesTile(ctx, t, decodeLzwTile(ctx.kernels, t.bytes, layout(t)));
};

const deflate: Decoder = async (ctx, t) => {
  checkSamples(t);
  return samplesTile(ctx, t, await decodeDeflateTile(ctx.kernels, t.bytes, layout(t)));
};

const none: Decoder = async (ctx, t) => {
  checkSamples(t);
  const need = t.width * storedRows(t) * t.samplesPerPixel;
  if (t.bytes.length < need) throw new ImageboxError('E_CORRUPT_TILE', `uncompressed tile of ${t.bytes.length} bytes, need ${need}`);
  return samplesTile(ctx, t, t.bytes);
};

/** Codecs with native reduced-resolution decoding; the others are decoded whole and area-averaged. */
const SCALES_NATIVELY = new Set<number>([Compression.Jpeg, Compression.Jp2kYCbCr, Compression.Jp2kRgb]);

export const CODECS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [Compression.Jpeg, jpeg],
  [Compression.Jp2kYCbCr, jpeg2000],
  [Compression.Jp2kRgb, jpeg2000],
  [Compression.Lzw, lzw],
  [Compression.AdobeDeflate, deflate],
  [Compression.Deflate, deflate],
  [Compression.None, none],
]);

/**
 * Decode a stored tile to RGBA at 1/scale of its stored size (ceil), the full
 * stored tile (edge padding included: callers crop with validWidth/validHeight).
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
