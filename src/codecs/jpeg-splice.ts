// Passthrough: a stored TIFF JPEG tile made into a complete, standalone JPEG
// stream without decoding it. TIFF "abbreviated" tiles carry no tables, so the
// JPEGTables (SOI DQT DHT ... EOI) are spliced in: tables without their EOI +
// tile without its SOI. Tiles coded in RGB (TIFF Photometric RGB, Aperio
// "JPEG/RGB") get an Adobe APP14 marker with transform 0 right after SOI, or
// decoders (browsers, libjpeg) would apply a YCbCr->RGB conversion they must not.

import { ImageboxError } from '../errors.js';
import { Compression, Photometric, type EncodedTile } from '../contracts/tile.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/** FF EE, length 14, "Adobe", version 100, flags0 0, flags1 0, transform 0 (none: RGB). */
export const ADOBE_APP14_RGB = Uint8Array.of(0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00);

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  hasAdobe: boolean;
}

/** Walks the marker segments up to SOS: frame size and whether an Adobe APP14 is present. */
export function readJpegHeader(b: Uint8Array): JpegHeader | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) return undefined;
  let i = 2;
  let hasAdobe = false;
  let frame: { width: number; height: number; components: number } | undefined;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === SOS || m === EOI) break;
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2 || i + 2 + len > b.length) return undefined;
    if (m === 0xee && len >= 12 && b[i + 4] === 0x41 && b[i + 5] === 0x64 && b[i + 6] === 0x6f && b[i + 7] === 0x62 && b[i + 8] === 0x65) hasAdobe = true;
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc && len >= 8) {
      frame = { height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]!, components: b[i + 9]! };
    }
    i += 2 + len;
  }
  return frame && { ...frame, hasAdobe };
}

/**
 * tables (may be undefined) + tile -> one JFIF stream. `rgb`: the tile is coded
 * in RGB (no colour transform); an APP14 transform-0 marker is added unless the
 * tile already has an Adobe marker. Returns undefined when the bytes are not a
 * JPEG stream we can splice.
 */
export function spliceJpeg(tables: Uint8Array | undefined, tile: Uint8Array, rgb: boolean): Uint8Array | undefined {
  if (tile.length < 4 || tile[0] !== 0xff || tile[1] !== SOI) return undefined;
  let tab: Uint8Array | undefined;
  if (tables && tables.length >= 4) {
    if (tables[0] !== 0xff || tables[1] !== SOI) return undefined;
    const end = tables[tables.length - 2] === 0xff && tables[tables.length - 1] === EOI ? tables.length - 2 : tables.length;
    tab = tables.subarray(2, end);
  }
  const adobe = rgb && !readJpegHeader(tile)?.hasAdobe ? ADOBE_APP14_RGB : undefined;
  const out = new Uint8Array(2 + (adobe?.length ?? 0) + (tab?.length ?? 0) + tile.length - 2);
  let o = 0;
  out[o++] = 0xff;
  out[o++] = SOI;
  if (adobe) {
    out.set(adobe, o);
    o += adobe.length;
  }
  if (tab) {
    out.set(tab, o);
    o += tab.length;
  }
  out.set(tile.subarray(2), o);
  return out;
}

/**
 * A stored tile as a complete JPEG stream, or undefined when it cannot be sent
 * as is (not JPEG, missing, not 3-component RGB/YCbCr, or a frame of another
 * size than the stored tile): IIIF passthrough and the stream's jpeg encoding.
 * Bytes that do not even start like a JPEG are E_CORRUPT_TILE.
 */
export function storedTileAsJpeg(t: EncodedTile): Uint8Array | undefined {
  if (t.missing || t.compression !== Compression.Jpeg || t.samplesPerPixel !== 3) return undefined;
  if (t.photometric !== Photometric.Rgb && t.photometric !== Photometric.YCbCr) return undefined;
  const body = spliceJpeg(t.jpegTables, t.bytes, t.photometric === Photometric.Rgb);
  if (!body) throw new ImageboxError('E_CORRUPT_TILE', `tile (${t.col}, ${t.row}) of level ${t.level} is not a JPEG stream`);
  const h = readJpegHeader(body);
  if (!h || h.width !== t.width || h.height !== t.height || h.components !== 3) return undefined;
  return body;
}
