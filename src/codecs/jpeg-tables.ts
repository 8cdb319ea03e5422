// Splitting a complete baseline JPEG into what TIFF JPEG (Compression 7) with
// JPEGTables stores, as Aperio does: the tables once per directory (tag 347:
// SOI, DQT, DHT, EOI) and per tile an abbreviated stream (SOI, SOF, [DRI,] SOS,
// entropy data, EOI) that has neither tables nor APPn segments. Isomorphic.

import { ImageboxError } from '../errors.js';

export interface SplitJpeg {
  /** SOI + every DQT and DHT segment + EOI. */
  tables: Uint8Array;
  /** SOI + the frame and scan headers (SOF, DRI, SOS) + entropy data + EOI. */
  stream: Uint8Array;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DQT = 0xdb;
const DHT = 0xc4;

function bad(why: string): ImageboxError {
  return new ImageboxError('E_BAD_REQUEST', `cannot split JPEG: ${why}`);
}

/**
 * Split a complete single-scan JPEG (our encoder's output) into tables and an
 * abbreviated stream. Throws E_BAD_REQUEST on anything that is not one.
 */
export function splitJpegTables(jpeg: Uint8Array): SplitJpeg {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== SOI) throw bad('no SOI marker');
  if (jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== EOI) throw bad('no EOI marker at the end');
  const tableSegs: [number, number][] = [];
  const headerSegs: [number, number][] = [];
  let p = 2;
  let scanStart = -1;
  while (p + 4 <= jpeg.length) {
    if (jpeg[p] !== 0xff) throw bad(`no marker at byte ${p}`);
    const m = jpeg[p + 1]!;
    const len = (jpeg[p + 2]! << 8) | jpeg[p + 3]!;
    if (len < 2 || p + 2 + len > jpeg.length) throw bad(`bad segment length at byte ${p}`);
    const seg: [number, number] = [p, p + 2 + len];
    if (m === DQT || m === DHT) tableSegs.push(seg);
    else if (m >= 0xe0 && m <= 0xef) {
      // APPn (JFIF, Adobe): not in Aperio's tile streams
    } else if (m === 0xfe) {
      // COM
    } else headerSegs.push(seg);
    p = seg[1];
    if (m === SOS) {
      scanStart = p;
      break;
    }
  }
  if (scanStart < 0) throw bad('no SOS segment');
  if (tableSegs.length === 0) throw bad('no DQT/DHT segments (already abbreviated?)');
  const size = (segs: [number, number][]) => segs.reduce((n, [a, b]) => n + b - a, 0);
  const tables = new Uint8Array(4 + size(tableSegs));
  tables.set([0xff, SOI], 0);
  let q = 2;
  for (const [a, b] of tableSegs) {
    tables.set(jpeg.subarray(a, b), q);
    q += b - a;
  }
  tables.set([0xff, EOI], q);
  const entropy = jpeg.subarray(scanStart);
  const stream = new Uint8Array(2 + size(headerSegs) + entropy.length);
  stream.set([0xff, SOI], 0);
  q = 2;
  for (const [a, b] of headerSegs) {
    stream.set(jpeg.subarray(a, b), q);
    q += b - a;
  }
  stream.set(entropy, q);
  return { tables, stream };
}

/** Byte-for-byte equality (to check that every tile of a directory shares one JPEGTables). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
