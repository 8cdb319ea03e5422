// Node only: PNG encoding with zlib's deflate instead of CompressionStream
// (same bytes format, far less overhead per call: worker threads encode
// synchronously anyway).
import { deflateSync } from 'node:zlib';
import type { RGBA } from '../contracts/pixels.js';
import { encodePng, type PngEncodeOptions } from './png-encode.js';

const zlibDeflate = (data: Uint8Array): Uint8Array => deflateSync(data, { level: 6 });

export function encodePngNode(img: RGBA, opts: Omit<PngEncodeOptions, 'deflate'> = {}): Promise<Uint8Array> {
  return encodePng(img, { ...opts, deflate: zlibDeflate });
}
