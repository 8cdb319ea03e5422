// Which stored images we know how to decode (or pass through), and whether a
// directory's numbers agree with each other: a hostile or damaged file must
// fail at open (E_MALFORMED, E_TOO_LARGE), not when a request makes us
// allocate what it claims.
import { ImageboxError } from '../errors.js';
import { Compression } from '../contracts/tile.js';
import type { ImageInfo } from './tiff/ifd.js';

export const SUPPORTED_COMPRESSIONS: ReadonlySet<number> = new Set([
  Compression.None,
  Compression.Lzw,
  Compression.Jpeg,
  Compression.AdobeDeflate,
  Compression.Deflate,
  Compression.Jp2kYCbCr,
  Compression.Jp2kRgb,
  Compression.JpegLs, // DICOM frames only (no TIFF code reaches it)
]);

/** The most pixels one stored tile (or strip) may decode to: 16 Mpx = 64 MiB of RGBA. */
export const MAX_TILE_PIXELS = 16 * 1024 * 1024;

/** Largest image side we accept (pixels): beyond any scanner; the offset arrays bound the rest. */
export const MAX_IMAGE_SIDE = 1 << 24;

/** Why an image directory is not self-consistent, or undefined when it is. */
export function inconsistency(info: ImageInfo): { code: 'E_MALFORMED' | 'E_TOO_LARGE'; message: string } | undefined {
  const { width, height, tileWidth: tw, tileHeight: th } = info;
  if (!Number.isSafeInteger(tw) || !Number.isSafeInteger(th) || tw <= 0 || th <= 0) {
    return { code: 'E_MALFORMED', message: `tile size ${tw}x${th}` };
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    return { code: 'E_TOO_LARGE', message: `${width}x${height} pixels (at most ${MAX_IMAGE_SIDE} a side)` };
  }
  if (tw * th > MAX_TILE_PIXELS) {
    return { code: 'E_TOO_LARGE', message: `${info.tiled ? 'tiles' : 'strips'} of ${tw}x${th} pixels (at most ${MAX_TILE_PIXELS / (1024 * 1024)} Mpx each)` };
  }
  const planes = info.planarConfig === 2 ? Math.max(1, info.samplesPerPixel) : 1;
  const need = Math.ceil(width / tw) * Math.ceil(height / th) * planes;
  const have = Math.min(info.offsets.length, info.byteCounts.length);
  if (have < need) {
    return {
      code: 'E_MALFORMED',
      message: `${have} ${info.tiled ? 'tile' : 'strip'} offsets/byte counts for a ${width}x${height} image of ${tw}x${th} ${info.tiled ? 'tiles' : 'strips'} (it needs ${need})`,
    };
  }
  return undefined;
}

/** Fail unless a pyramid level can be decoded by us (OpenSlide's message) and its numbers agree. */
export function assertDecodable(info: ImageInfo, what: string, bits: readonly number[] = [8]): void {
  if (!SUPPORTED_COMPRESSIONS.has(info.compression)) {
    throw new ImageboxError('E_NOT_A_SLIDE', `Unsupported TIFF compression: ${info.compression} (${what})`);
  }
  const bad = inconsistency(info);
  if (bad) throw new ImageboxError(bad.code, `${what}: ${bad.message}`);
  if (!bits.includes(info.bitsPerSample)) {
    throw new ImageboxError('E_NOT_A_SLIDE', `${what}: ${info.bitsPerSample}-bit samples are not supported`);
  }
}
