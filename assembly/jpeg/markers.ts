// JPEG marker segments: SOI, DQT, DHT, DRI, SOFn, SOS, APP0 (JFIF), APP14
// (Adobe), everything else skipped by its length. Every length is checked
// against the segment and the buffer: a bad one is an error, never a read
// outside the input.

import {
  OK, C_NO_SOI, C_BAD_MARKER, C_BAD_LENGTH, C_BAD_DQT, C_BAD_DHT, C_BAD_SOF, C_BAD_SOS,
  C_NO_FRAME, C_BAD_DRI, C_TRUNCATED, C_TOO_BIG, C_DUP_FRAME,
  U_PROGRESSIVE, U_ARITHMETIC, U_LOSSLESS, U_HIERARCHICAL, U_PRECISION, U_COMPONENTS, U_DNL,
  MAX_PIXELS, QT, qtDefined, setQtDefined, frameSeen, setFrame, setRestartInterval, setJfif, setAdobe,
  ncomp, cget, cset, F_ID, F_H, F_V, F_TQ, F_TD, F_TA, ZIGZAG,
} from "./state";
import { buildHuffman } from "./huffman";

// The reader position over the current input (tables or tile).
export let mpos: usize = 0;
export let mend: usize = 0;

/** Components of the current scan (indices into COMP), and their count. */
export const SCAN: usize = memory.data(16, 16);
export let scanCount: i32 = 0;

export function setInput(ptr: usize, len: usize): void {
  mpos = ptr;
  mend = ptr + len;
}
export function setPos(p: usize): void {
  mpos = p;
}

@inline function u16be(p: usize): i32 {
  return (<i32>load<u8>(p) << 8) | <i32>load<u8>(p + 1);
}

/** Next marker code, skipping fill bytes (FF FF ...). -1 at the end of input, -2 if data sits where a marker should. */
export function nextMarker(): i32 {
  if (mpos >= mend) return -1;
  if (load<u8>(mpos) != 0xff) return -2;
  while (mpos < mend && load<u8>(mpos) == 0xff) mpos++;
  if (mpos >= mend) return -1;
  const m = <i32>load<u8>(mpos);
  mpos++;
  if (m == 0) return -2;
  return m;
}

/** Expect SOI at the start of the input. */
export function readSoi(): i32 {
  if (mend - mpos < 2 || load<u8>(mpos) != 0xff || load<u8>(mpos + 1) != 0xd8) return C_NO_SOI;
  mpos += 2;
  return OK;
}

/** Parse one marker segment (not SOI/EOI/SOS). Returns OK or an error. */
export function readSegment(m: i32): i32 {
  if (mend - mpos < 2) return C_TRUNCATED;
  const len = u16be(mpos);
  if (len < 2) return C_BAD_LENGTH;
  if (<usize>len > mend - mpos) return C_BAD_LENGTH;
  const p = mpos + 2;
  const e = mpos + <usize>len;
  let r = OK;
  if (m == 0xdb) r = readDqt(p, e);
  else if (m == 0xc4) r = readDht(p, e);
  else if (m == 0xdd) r = readDri(p, e);
  else if (m == 0xc0 || m == 0xc1) r = readSof(p, e, m);
  else if (m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce) r = U_PROGRESSIVE;
  else if (m == 0xc3 || m == 0xc7 || m == 0xcb || m == 0xcf) r = U_LOSSLESS;
  else if (m == 0xc9) r = U_ARITHMETIC;
  else if (m == 0xc5) r = U_HIERARCHICAL;
  else if (m == 0xcc) r = U_ARITHMETIC; // DAC
  else if (m == 0xde || m == 0xdf) r = U_HIERARCHICAL; // DHP, EXP
  else if (m == 0xdc) r = U_DNL;
  else if (m == 0xe0) readApp0(p, e);
  else if (m == 0xee) readApp14(p, e);
  else if (m >= 0xd0 && m <= 0xd7) r = C_BAD_MARKER; // RSTn outside entropy data
  // APPn, COM, JPGn, and other reserved markers with a length: skipped.
  mpos = e;
  return r;
}

function readDqt(p: usize, e: usize): i32 {
  let mask = qtDefined;
  while (p < e) {
    const pq = <i32>load<u8>(p) >> 4;
    const tq = <i32>load<u8>(p) & 15;
    p++;
    if (tq > 3 || pq > 1) return C_BAD_DQT;
    const n: usize = pq ? 128 : 64;
    if (e - p < n) return C_BAD_DQT;
    const dst = QT + (<usize>tq << 7);
    for (let k = 0; k < 64; k++) {
      const q = pq ? u16be(p + (<usize>k << 1)) : <i32>load<u8>(p + <usize>k);
      store<u16>(dst + (<usize>load<u8>(ZIGZAG + <usize>k) << 1), <u16>q);
    }
    p += n;
    mask |= 1 << tq;
  }
  setQtDefined(mask);
  return OK;
}

function readDht(p: usize, e: usize): i32 {
  while (p < e) {
    if (e - p < 17) return C_BAD_DHT;
    const tc = <i32>load<u8>(p) >> 4;
    const th = <i32>load<u8>(p) & 15;
    if (tc > 1 || th > 3) return C_BAD_DHT;
    let total = 0;
    for (let i = 1; i <= 16; i++) total += <i32>load<u8>(p + <usize>i);
    if (total > 256 || e - p < 17 + <usize>total) return C_BAD_DHT;
    const r = buildHuffman((tc << 2) | th, p + 1, p + 17, tc);
    if (r != OK) return r;
    p += 17 + <usize>total;
  }
  return OK;
}

function readDri(p: usize, e: usize): i32 {
  if (e - p != 2) return C_BAD_DRI;
  setRestartInterval(u16be(p));
  return OK;
}

function readApp0(p: usize, e: usize): void {
  if (e - p >= 5 && load<u8>(p) == 0x4a && load<u8>(p + 1) == 0x46 && load<u8>(p + 2) == 0x49 &&
      load<u8>(p + 3) == 0x46 && load<u8>(p + 4) == 0) setJfif();
}

function readApp14(p: usize, e: usize): void {
  if (e - p >= 12 && load<u8>(p) == 0x41 && load<u8>(p + 1) == 0x64 && load<u8>(p + 2) == 0x6f &&
      load<u8>(p + 3) == 0x62 && load<u8>(p + 4) == 0x65) setAdobe(<i32>load<u8>(p + 11));
}

function readSof(p: usize, e: usize, m: i32): i32 {
  if (frameSeen) return C_DUP_FRAME;
  if (e - p < 6) return C_BAD_SOF;
  const prec = <i32>load<u8>(p);
  const h = u16be(p + 1);
  const w = u16be(p + 3);
  const n = <i32>load<u8>(p + 5);
  if (prec != 8) return U_PRECISION;
  if (n == 0 || e - p != 6 + 3 * <usize>n) return C_BAD_SOF;
  if (n != 1 && n != 3) return U_COMPONENTS;
  if (w == 0) return C_BAD_SOF;
  if (h == 0) return U_DNL;
  if (<u64>w * <u64>h > MAX_PIXELS || w > 65500 || h > 65500) return C_TOO_BIG;
  let hm = 1;
  let vm = 1;
  for (let c = 0; c < n; c++) {
    const q = p + 6 + 3 * <usize>c;
    const id = <i32>load<u8>(q);
    const hs = <i32>load<u8>(q + 1) >> 4;
    const vs = <i32>load<u8>(q + 1) & 15;
    const tq = <i32>load<u8>(q + 2);
    if (hs < 1 || hs > 4 || vs < 1 || vs > 4 || tq > 3) return C_BAD_SOF;
    for (let d = 0; d < c; d++) if (cget(d, F_ID) == id) return C_BAD_SOF;
    cset(c, F_ID, id);
    cset(c, F_H, hs);
    cset(c, F_V, vs);
    cset(c, F_TQ, tq);
    if (hs > hm) hm = hs;
    if (vs > vm) vm = vs;
  }
  setFrame(w, h, n, hm, vm, m);
  return OK;
}

/** Parse the SOS header at mpos (after the marker). Leaves mpos at the entropy data. */
export function readSos(): i32 {
  if (!frameSeen) return C_NO_FRAME;
  if (mend - mpos < 2) return C_TRUNCATED;
  const len = u16be(mpos);
  if (<usize>len > mend - mpos || len < 3) return C_BAD_LENGTH;
  const p = mpos + 2;
  const n = <i32>load<u8>(p);
  if (n < 1 || n > 4 || n > ncomp || len != 6 + 2 * n) return C_BAD_SOS;
  for (let i = 0; i < n; i++) {
    const q = p + 1 + 2 * <usize>i;
    const id = <i32>load<u8>(q);
    let c = -1;
    for (let d = 0; d < ncomp; d++) if (cget(d, F_ID) == id) c = d;
    if (c < 0) return C_BAD_SOS;
    for (let j = 0; j < i; j++) if (<i32>load<u8>(SCAN + <usize>j) == c) return C_BAD_SOS;
    const td = <i32>load<u8>(q + 1) >> 4;
    const ta = <i32>load<u8>(q + 1) & 15;
    if (td > 3 || ta > 3) return C_BAD_SOS;
    cset(c, F_TD, td);
    cset(c, F_TA, 4 + ta);
    store<u8>(SCAN + <usize>i, <u8>c);
  }
  const ss = <i32>load<u8>(p + 1 + 2 * <usize>n);
  const se = <i32>load<u8>(p + 2 + 2 * <usize>n);
  const ahal = <i32>load<u8>(p + 3 + 2 * <usize>n);
  // Sequential: Ss = 0, Se = 63, Ah = Al = 0 (anything else is a progressive scan).
  if (ss != 0 || se != 63 || ahal != 0) return C_BAD_SOS;
  scanCount = n;
  mpos += <usize>len;
  return OK;
}

/**
 * After a scan's entropy data: find the next marker (skipping any stray bytes),
 * leaving mpos at its 0xFF. Returns the marker code, or -1 at the end of input.
 */
export function findMarker(from: usize): i32 {
  let p = from;
  while (p + 1 < mend) {
    if (load<u8>(p) == 0xff) {
      const b = <i32>load<u8>(p + 1);
      if (b != 0 && b != 0xff && (b < 0xd0 || b > 0xd7)) {
        mpos = p;
        return b;
      }
    }
    p++;
  }
  mpos = mend;
  return -1;
}
