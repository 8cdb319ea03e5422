// The pixel contract shared by every room: an RGBA image, and what the slide
// model needs from the codecs to turn stored tiles into pixels (injected by the
// platform entry, so src/slide never imports src/codecs). Ground floor.
import type { EncodedTile } from './tile.js';

/** An RGBA image in a plain byte buffer, row-major, 4 bytes per pixel, not premultiplied. */
export interface RGBA {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One channel's samples (a fluorescence plane), row-major: 8-bit or 16-bit values exactly as stored. */
export interface ChannelPlane {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array;
}

/** Decodes one stored tile to RGBA at 1/scale of its stored size (DCT scaling where the codec has it). */
export type TileDecoder = (tile: EncodedTile, scale?: 1 | 2 | 4 | 8) => Promise<RGBA>;

/** A decoded tile placed into a region (x, y may be negative: the tile overhangs). */
export interface Placement {
  tile: RGBA;
  x: number;
  y: number;
  validWidth: number;
  validHeight: number;
}

/** Places decoded tiles into a transparent region (a WASM kernel in production). */
export type Composer = (width: number, height: number, tiles: Placement[]) => RGBA;

/** Area-average resampling of an image fed as full-width bands of rows, top to bottom. */
export interface BandResampler {
  push(band: RGBA): void;
  finish(): RGBA;
}

export interface PixelReader {
  decode: TileDecoder;
  compose: Composer;
  /** Area-average resize (for re-rendering a missing tile from the level above, thumbnails). */
  resize: (img: RGBA, width: number, height: number) => RGBA;
  /** Transparent pixels over an opaque background (white by default); the same object when already opaque. */
  flatten: (img: RGBA) => RGBA;
  /** A band-by-band area resampler from sw x sh down to dw x dh (bounded memory for large regions). */
  bandResampler: (sw: number, sh: number, dw: number, dh: number) => BandResampler;
  /** One channel of a tile stored one sample per pixel (multi-channel OME-TIFF): its valid part, values exact. */
  channel?: (tile: EncodedTile) => Promise<ChannelPlane>;
}
