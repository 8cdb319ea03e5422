// JPEG 2000 tiles (Aperio 33003 / 33005: one raw J2K codestream per tile) through
// OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg, its WASM
// decoder build). Isomorphic: the Emscripten factory and its wasm bytes are
// injected (Node: jpeg2000-node.ts; browser: import the package's `decodewasmjs`
// entry and fetch `decodewasm`).
//
// Colour: 33005 holds RGB with the MCT inside the codestream: no conversion.
// 33003 holds Y, Cb, Cr (chroma usually at half width, no MCT). This OpenJPEG
// build already turns sYCC with subsampled chroma into RGB (OpenJPEG's
// color_sycc_to_rgb: chroma index x/2) and then reports colour space sRGB (1);
// when it does not (colour space not sRGB, e.g. full-width chroma), the decoded
// Y, Cb, Cr go through our full-range JFIF kernel (image-ops.ts).

import { cropTo } from './crop.js';
import { ImageboxError } from '../errors.js';
import { Compression, type EncodedTile } from '../contracts/tile.js';
import { type RGBA } from '../contracts/pixels.js';
import { samplesToRgba, ycbcrInterleavedToRgba } from './image-ops.js';
import type { Kernels } from './kernels.js';

/** The parts of the Emscripten module we use. */
export interface OpenJpegModule {
  J2KDecoder: new () => J2KDecoder;
}

interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader(): void;
  decode(): void;
  decodeSubResolution(level: number, layer: number): void;
  calculateSizeAtDecompositionLevel(level: number): { width: number; height: number };
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean };
  getNumDecompositions(): number;
  getNumLayers(): number;
  getColorSpace(): number;
  delete(): void;
}

/** What an Emscripten factory accepts (we pass wasmBinary or locateFile, and silence its logging). */
export interface OpenJpegFactoryOptions {
  wasmBinary?: ArrayBuffer | Uint8Array;
  locateFile?: (path: string, prefix: string) => string;
  print?: (s: string) => void;
  printErr?: (s: string) => void;
}

export type OpenJpegFactory = (opts: OpenJpegFactoryOptions) => Promise<OpenJpegModule>;

export interface Jpeg2000DecodeOptions {
  /** TIFF Compression: 33003 (YCbCr) or 33005 (RGB). Default 33005. */
  compression?: number;
  /** Resolution reduction: decode at 1 / 2^reduce of full size (0 = full). */
  reduce?: number;
  /** Quality layers to decode (0 = all). */
  layers?: number;
}

/** Largest decoded tile accepted (pixels). */
export const J2K_MAX_PIXELS = 16 * 1024 * 1024;

const OPJ_CLRSPC_SRGB = 1;

/** The image size and components from the SIZ marker segment (right after SOC). */
export function readSiz(b: Uint8Array): { width: number; height: number; components: number; bits: number; signed: boolean } {
  if (b.length < 42 || b[0] !== 0xff || b[1] !== 0x4f || b[2] !== 0xff || b[3] !== 0x51) {
    throw new ImageboxError('E_CORRUPT_TILE', 'JPEG 2000 codestream without SOC + SIZ');
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = dv.getUint32(8) - dv.getUint32(16);
  const height = dv.getUint32(12) - dv.getUint32(20);
  const components = dv.getUint16(40);
  if (!(width > 0 && height > 0) || components < 1 || b.length < 42 + 3 * components) {
    throw new ImageboxError('E_CORRUPT_TILE', `JPEG 2000 SIZ: ${width}x${height}, ${components} components`);
  }
  let bits = 0;
  let signed = false;
  for (let c = 0; c < components; c++) {
    const s = b[42 + 3 * c]!;
    bits = Math.max(bits, (s & 0x7f) + 1);
    signed ||= (s & 0x80) !== 0;
  }
  return { width, height, components, bits, signed };
}

/** Decomposition levels from the main header's COD marker segment (0 when absent). */
export function decompositionLevels(b: Uint8Array): number {
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1]!;
    if (marker === 0x90 || marker === 0x93) break; // SOT / SOD: end of the main header
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (marker === 0x52 && p + 9 < b.length) return b[p + 9]!; // COD: Lcod Scod SGcod(4) SPcod[0]
    p += 2 + len;
  }
  return 0;
}

export class Jpeg2000Decoder {
  private module: OpenJpegModule | undefined;
  /** How many times the OpenJPEG instance was replaced after it aborted. */
  renewals = 0;

  private constructor(private readonly factory: OpenJpegFactory, private readonly opts: OpenJpegFactoryOptions) {}

  /** Instantiate OpenJPEG once; `opts` should carry `wasmBinary` (or `locateFile`). */
  static async create(factory: OpenJpegFactory, opts: OpenJpegFactoryOptions): Promise<Jpeg2000Decoder> {
    const d = new Jpeg2000Decoder(factory, { print: () => {}, printErr: () => {}, ...opts });
    await d.instance();
    return d;
  }

  private async instance(): Promise<OpenJpegModule> {
    if (!this.module) this.module = await this.factory({ ...this.opts });
    return this.module;
  }

  /**
   * Decode an Aperio JPEG 2000 tile to RGBA of its valid part (at 1 / 2^reduce
   * size: ceil(validWidth / 2^reduce) x ceil(validHeight / 2^reduce)). A missing tile is transparent.
   */
  async decodeTile(k: Kernels, tile: EncodedTile, reduce = 0): Promise<RGBA> {
    const f = 2 ** Math.max(0, Math.floor(reduce));
    const vw = Math.ceil(tile.validWidth / f);
    const vh = Math.ceil(tile.validHeight / f);
    if (tile.missing || tile.bytes.length === 0) return { width: vw, height: vh, data: new Uint8Array(vw * vh * 4) };
    const img = await this.decode(k, tile.bytes, { compression: tile.compression, reduce });
    return cropTo(img, vw, vh);
  }

  /** Decode one codestream to RGBA (the full stored tile, at the requested reduction). */
  async decode(k: Kernels, bytes: Uint8Array, o: Jpeg2000DecodeOptions = {}): Promise<RGBA> {
    const compression = o.compression ?? Compression.Jp2kRgb;
    if (compression !== Compression.Jp2kYCbCr && compression !== Compression.Jp2kRgb) {
      throw new ImageboxError('E_UNSUPPORTED_CODEC', `JPEG 2000 wrapper for compression ${compression}`);
    }
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0x4f) {
      throw new ImageboxError('E_CORRUPT_TILE', 'not a JPEG 2000 codestream (no SOC marker)');
    }
    const m = await this.instance();
    let dec: J2KDecoder | undefined;
    let w: number, h: number, comps: number, colourSpace: number, samples: Uint8Array;
    try {
      const siz = readSiz(bytes);
      comps = siz.components;
      if (siz.bits > 8 || siz.signed || (comps !== 1 && comps !== 3 && comps !== 4)) {
        throw new ImageboxError('E_UNSUPPORTED_CODEC', `JPEG 2000 with ${comps} components of ${siz.bits} bits${siz.signed ? ' (signed)' : ''}`);
      }
      if (siz.width * siz.height > J2K_MAX_PIXELS) {
        throw new ImageboxError('E_TOO_LARGE', `JPEG 2000 tile of ${siz.width}x${siz.height}`);
      }
      dec = new m.J2KDecoder();
      dec.getEncodedBuffer(bytes.length).set(bytes);
      const reduce = Math.max(0, Math.min(Math.floor(o.reduce ?? 0), decompositionLevels(bytes)));
      if (reduce > 0 || (o.layers ?? 0) > 0) {
        dec.decodeSubResolution(reduce, o.layers ?? 0);
        ({ width: w, height: h } = dec.calculateSizeAtDecompositionLevel(reduce));
      } else {
        dec.decode();
        ({ width: w, height: h } = dec.getFrameInfo());
      }
      if (w !== Math.ceil(siz.width / 2 ** reduce) || h !== Math.ceil(siz.height / 2 ** reduce)) {
        throw new ImageboxError('E_CORRUPT_TILE', `JPEG 2000 decoded ${w}x${h}, header says ${siz.width}x${siz.height} / 2^${reduce}`);
      }
      colourSpace = dec.getColorSpace();
      const out = dec.getDecodedBuffer();
      if (out.length < w * h * comps) throw new ImageboxError('E_CORRUPT_TILE', `JPEG 2000 decoded ${out.length} bytes for ${w}x${h}x${comps}`);
      samples = new Uint8Array(out.subarray(0, w * h * comps)); // copy out of the Emscripten heap
    } catch (e) {
      if (e instanceof ImageboxError) throw e;
      if (e instanceof WebAssembly.RuntimeError) {
        // OpenJPEG aborted: the instance is unusable; the next call makes a new one
        this.module = undefined;
        this.renewals++;
        dec = undefined;
      }
      throw new ImageboxError('E_CORRUPT_TILE', `JPEG 2000: ${e instanceof Error ? e.message : typeof e === 'number' ? `decoder exception ${e}` : String(e)}`, undefined, e);
    } finally {
      try {
        dec?.delete();
      } catch {
        // instance already gone
      }
    }
    if (compression === Compression.Jp2kYCbCr && comps === 3 && colourSpace !== OPJ_CLRSPC_SRGB) {
      return ycbcrInterleavedToRgba(k, samples, w, h);
    }
    return samplesToRgba(k, samples, w, h, comps);
  }
}
