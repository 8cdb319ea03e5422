// A decoded RGBA tile from a TIFF tile/strip stored uncompressed (1), LZW (5) or
// Deflate (8, 32946), with Predictor 1 or 2, chunky 8- or 16-bit samples,
// Photometric MinIsWhite/MinIsBlack/RGB (1, 3 or 4 samples). Missing tiles are
// transparent. Isomorphic.

import { ImageboxError } from '../errors.js';
import { Compression, Photometric, type EncodedTile } from '../contracts/tile.js';
import { type ChannelPlane, type RGBA } from '../contracts/pixels.js';
import { decodeDeflateTile } from './deflate.js';
import { samplesToRgba, checkSize } from './image-ops.js';
import type { Kernels } from './kernels.js';
import { decodeLzwTile, layoutBytes } from './lzw.js';
import { undoHorizontalPredictor } from './predictor.js';

export const LOSSLESS_COMPRESSIONS: readonly number[] = [Compression.None, Compression.Lzw, Compression.AdobeDeflate, Compression.Deflate];

/**
 * Decode `tile` to RGBA of its valid part (validWidth x validHeight). `littleEndian`
 * is the file's byte order (only 16-bit samples care).
 */
export async function decodeLosslessTile(k: Kernels, tile: EncodedTile, littleEndian = true): Promise<RGBA> {
  const { width, validWidth, validHeight } = tile;
  // A tile is stored full size; the last strip of an image stops at its last row.
  const height = tile.tiled ? tile.height : validHeight;
  checkSize(width, height, 'tile');
  if (tile.missing || tile.bytes.length === 0) {
    return { width: validWidth, height: validHeight, data: new Uint8Array(validWidth * validHeight * 4) };
  }
  const spp = tile.samplesPerPixel;
  const bps = tile.bitsPerSample;
  if (tile.planarConfig === 2 && spp > 1) throw new ImageboxError('E_UNSUPPORTED_CODEC', 'planar (separate) sample planes');
  if (bps !== 8 && bps !== 16) throw new ImageboxError('E_UNSUPPORTED_CODEC', `${bps}-bit samples`);
  const ph = tile.photometric;
  if (ph !== Photometric.MinIsBlack && ph !== Photometric.MinIsWhite && ph !== Photometric.Rgb) {
    throw new ImageboxError('E_UNSUPPORTED_CODEC', `Photometric ${ph} in a ${tile.compression}-compressed tile`);
  }
  if (spp < 1 || spp > 8) throw new ImageboxError('E_CORRUPT_TILE', `${spp} samples per pixel`);
  let samples = await decodeLosslessSamples(k, tile, littleEndian);
  if (bps === 16) {
    // keep the high byte of each sample
    const n = samples.length >> 1;
    const hi = new Uint8Array(n);
    const o = littleEndian ? 1 : 0;
    for (let i = 0; i < n; i++) hi[i] = samples[2 * i + o]!;
    samples = hi;
  }
  if (ph === Photometric.MinIsWhite) for (let i = 0; i < samples.length; i += spp) samples[i] = 255 - samples[i]!;
  // grey: 1 sample (+ alpha); RGB: 3 (+ alpha); other extra samples are dropped
  const use = ph === Photometric.Rgb ? (spp >= 4 ? 4 : 3) : spp >= 2 ? 2 : 1;
  if (use !== spp && use !== 4) {
    const n = width * height;
    const packed = new Uint8Array(n * use);
    for (let i = 0; i < n; i++) for (let c = 0; c < use; c++) packed[i * use + c] = samples[i * spp + c]!;
    samples = packed;
  }
  return samplesToRgba(k, samples, width, height, use === 4 ? spp : use, validWidth, validHeight);
}

/** The stored samples of a lossless tile (full stored width x rows), predictor undone; 16-bit samples as stored bytes. */
async function decodeLosslessSamples(k: Kernels, tile: EncodedTile, littleEndian: boolean): Promise<Uint8Array> {
  const { width, validHeight } = tile;
  const height = tile.tiled ? tile.height : validHeight;
  const spp = tile.samplesPerPixel;
  const bps = tile.bitsPerSample;
  const layout = { width, height, samplesPerPixel: spp, bitsPerSample: bps, littleEndian, predictor: tile.predictor };
  let samples: Uint8Array;
  switch (tile.compression) {
    case Compression.Lzw:
      samples = decodeLzwTile(k, tile.bytes, layout);
      break;
    case Compression.AdobeDeflate:
    case Compression.Deflate:
      samples = await decodeDeflateTile(k, tile.bytes, layout);
      break;
    case Compression.None: {
      const size = layoutBytes(layout);
      if (tile.bytes.length < size) throw new ImageboxError('E_CORRUPT_TILE', `uncompressed tile of ${tile.bytes.length} bytes, need ${size}`);
      samples = tile.bytes.slice(0, size);
      if (tile.predictor === 2) undoHorizontalPredictor(k, samples, layout);
      break;
    }
    default:
      throw new ImageboxError('E_UNSUPPORTED_CODEC', `TIFF compression ${tile.compression}`);
  }
  return samples;
}

/**
 * One channel of a tile stored with one sample per pixel (a fluorescence plane):
 * its valid part, 8-bit as Uint8Array, 16-bit as Uint16Array (values exact).
 * A missing tile is zeros.
 */
export async function decodeChannelTile(k: Kernels, tile: EncodedTile): Promise<ChannelPlane> {
  const { width, validWidth: vw, validHeight: vh } = tile;
  const bps = tile.bitsPerSample;
  if (bps !== 8 && bps !== 16) throw new ImageboxError('E_UNSUPPORTED_CODEC', `${bps}-bit channel samples`);
  if (tile.samplesPerPixel !== 1) throw new ImageboxError('E_UNSUPPORTED_CODEC', `a channel tile with ${tile.samplesPerPixel} samples per pixel`);
  if (!LOSSLESS_COMPRESSIONS.includes(tile.compression)) throw new ImageboxError('E_UNSUPPORTED_CODEC', `TIFF compression ${tile.compression} for channel samples`);
  checkSize(width, tile.tiled ? tile.height : vh, 'tile');
  const out = bps === 8 ? new Uint8Array(vw * vh) : new Uint16Array(vw * vh);
  if (tile.missing || tile.bytes.length === 0) return { width: vw, height: vh, data: out };
  let raw: Uint8Array;
  try {
    raw = await decodeLosslessSamples(k, tile, tile.littleEndian ?? true);
  } catch (e) {
    if (e instanceof ImageboxError) throw e;
    throw new ImageboxError('E_CORRUPT_TILE', `tile (${tile.col}, ${tile.row}): ${(e as Error).message}`, undefined, e);
  }
  if (bps === 8) {
    for (let y = 0; y < vh; y++) out.set(raw.subarray(y * width, y * width + vw), y * vw);
  } else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const le = tile.littleEndian ?? true;
    for (let y = 0; y < vh; y++) for (let x = 0; x < vw; x++) out[y * vw + x] = view.getUint16(2 * (y * width + x), le);
  }
  return { width: vw, height: vh, data: out };
}
