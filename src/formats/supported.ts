// Which stored tiles we know how to decode (or pass through).
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
]);

/** Fail E_NOT_A_SLIDE when a pyramid level cannot be decoded by us (OpenSlide's message). */
export function assertDecodable(info: ImageInfo, what: string): void {
  if (!SUPPORTED_COMPRESSIONS.has(info.compression)) {
    throw new ImageboxError('E_NOT_A_SLIDE', `Unsupported TIFF compression: ${info.compression} (${what})`);
  }
  if (info.tileWidth <= 0 || info.tileHeight <= 0) {
    throw new ImageboxError('E_MALFORMED', `${what}: tile size ${info.tileWidth}x${info.tileHeight}`);
  }
  if (info.bitsPerSample !== 8) {
    throw new ImageboxError('E_NOT_A_SLIDE', `${what}: ${info.bitsPerSample}-bit samples are not supported`);
  }
}
