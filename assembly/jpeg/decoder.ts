// Baseline / extended-sequential 8-bit Huffman JPEG decoder: the exported
// entry points (exported from index.ts as jpeg_read_header, jpeg_decode, ...).
// Usage from the host (src/codecs/jpeg.ts):
//   reset(); put tables + data; jpeg_read_header(data, len, tables, tlen)
//   read jpeg_width()/jpeg_height()/...; out = alloc(outW * outH * channels)
//   jpeg_decode(out, scale, colorTransform, channels)
// Every call returns a status (state.ts): 0 ok, 1 ok with warning, < 0 error.
//
// Scans decode into one plane per component (8, 4, 2 or 1 samples per block
// side for scale 1, 2, 4, 8; subsampled chroma may use a bigger IDCT, as
// libjpeg does), then rows are upsampled and colour converted into the output.
// Coefficients stay quantised until the IDCT (idct8x8 dequantises as it loads).
// Planes come from the bump allocator after the host's buffers: the same
// addresses each job, memory grows only for a bigger image (bounded by the
// 64 Mpx / 65500 px limit in the SOF check and the module's maximum memory).
//
// Damaged entropy data, like libjpeg: when a segment runs out of data (marker
// or end of input reached while bits are still needed) the rest of that
// restart interval is left at zero coefficients (mid grey) and the status is
// WARN; a bad restart marker is resynchronised with libjpeg's rules (WARN). An
// invalid Huffman code is an error (C_BAD_CODE).

import { alloc } from "../memory";
import {
  OK, WARN, C_NO_FRAME, C_BAD_MARKER, C_TRUNCATED, C_NO_QT, C_NO_HT, C_BAD_CODE, C_BAD_TABLES, C_NO_SOI,
  C_BAD_SCALE, E_NOMEM,
  QT, qtDefined, htDefined, setQtDefined, setHtDefined, resetFrame, frameSeen, setRestartInterval, setJfif, setAdobe,
  width, height, ncomp, hmax, vmax, mcusX, mcusY, restartInterval, sawJfif, adobeTransform,
  cget, cset, COMP, F_ID, F_H, F_V, F_TQ, F_TD, F_TA, F_PRED, F_PLANE, F_STRIDE, F_BW, F_BH, F_CW, F_CH, F_ROW, F_DECODED, F_BS, F_HE, F_VE,
} from "./state";
import { setInput, readSoi, nextMarker, readSegment, readSos, findMarker, mpos, mend, SCAN, scanCount, setPos } from "./markers";
import { bitsInit, bitsReset, setReader, bpos, bend, markerHit, exhausted, decodeBlock, decodeBlockDC } from "./huffman";
import { dequantize, fillDC8, idct8x8, idct8x8Scalar, idct4x4, idct4x4Scalar, idct2x2, idct2x2Scalar, fillDC } from "./idct";
import { writeOutput } from "./upsample-color";

const BLK: usize = memory.data(128, 16);

let sosPos: usize = 0;
let warned: bool = false;
let useSimd: bool = true;

/** Tests: 0 = scalar IDCTs (reference ports of the C code), 1 = SIMD (default). */
export function jpegSetSimd(on: i32): void {
  useSimd = on != 0;
}

/** Load a JPEGTables stream (SOI, DQT/DHT/DRI/APPn/COM..., EOI). */
function readTables(p: usize, len: usize): i32 {
  setInput(p, len);
  if (readSoi() != OK) return C_BAD_TABLES;
  while (true) {
    const m = nextMarker();
    if (m == -1) return OK; // lenient: missing EOI
    if (m < 0) return C_BAD_TABLES;
    if (m == 0xd9) return OK;
    if (m == 0xdb || m == 0xc4 || m == 0xdd || (m >= 0xe0 && m <= 0xef) || m == 0xfe) {
      const r = readSegment(m);
      if (r != OK) return r;
    } else {
      return C_BAD_TABLES;
    }
  }
  return OK;
}

/**
 * Parse tables (if tlen > 0) and the tile's markers up to its first SOS.
 * Clears all state from the previous image first.
 */
// The JPEGTables of a slide are the same for every tile: keep a copy of the
// last tables stream and what it defined, and skip rebuilding the Huffman
// lookups when the next tile brings the same bytes (and nothing since has
// redefined a table).
const TCACHE_MAX: usize = 4096;
const TCACHE: usize = memory.data(4096, 16);
let tcacheLen: usize = 0;
let tcacheQt: i32 = 0;
let tcacheHt: i32 = 0;
let tcacheRi: i32 = 0;
let tcacheJfif: bool = false;
let tcacheAdobe: i32 = -1;

@inline function tablesTouched(m: i32): void {
  if (m == 0xdb || m == 0xc4) tcacheLen = 0;
}

export function jpegReadHeader(data: usize, dlen: usize, tables: usize, tlen: usize): i32 {
  resetFrame();
  warned = false;
  if (tlen > 0 && tlen == tcacheLen && memory.compare(tables, TCACHE, tlen) == 0) {
    setQtDefined(tcacheQt);
    setHtDefined(tcacheHt);
    setRestartInterval(tcacheRi);
    if (tcacheJfif) setJfif();
    if (tcacheAdobe >= 0) setAdobe(tcacheAdobe);
  } else {
    setQtDefined(0);
    setHtDefined(0);
    tcacheLen = 0;
    if (tlen > 0) {
      const r = readTables(tables, tlen);
      if (r != OK) return r;
      if (tlen <= TCACHE_MAX) {
        memory.copy(TCACHE, tables, tlen);
        tcacheLen = tlen;
        tcacheQt = qtDefined;
        tcacheHt = htDefined;
        tcacheRi = restartInterval;
        tcacheJfif = sawJfif;
        tcacheAdobe = adobeTransform;
      }
    }
  }
  setInput(data, dlen);
  if (readSoi() != OK) return C_NO_SOI;
  while (true) {
    const m = nextMarker();
    if (m == -1) return C_TRUNCATED;
    if (m < 0) return C_BAD_MARKER;
    if (m == 0xd8) return C_BAD_MARKER;
    if (m == 0xd9) return C_NO_FRAME;
    if (m == 0x01) continue; // TEM: no length
    if (m == 0xda) {
      if (!frameSeen) return C_NO_FRAME;
      sosPos = mpos;
      return OK;
    }
    tablesTouched(m);
    const r = readSegment(m);
    if (r != OK) return r;
  }
  return OK;
}

export function jpegWidth(): i32 { return width; }
export function jpegHeight(): i32 { return height; }
export function jpegComponents(): i32 { return ncomp; }
/** Sampling of component c: (H << 4) | V. */
export function jpegSampling(c: i32): i32 { return (cget(c, F_H) << 4) | cget(c, F_V); }
export function jpegComponentId(c: i32): i32 { return cget(c, F_ID); }
/** Colour hints: bit 0 JFIF seen, bit 1 Adobe seen, bits 8.. Adobe transform. */
export function jpegColorHints(): i32 {
  return (sawJfif ? 1 : 0) | (adobeTransform >= 0 ? 2 | (adobeTransform << 8) : 0);
}
export function jpegRestartInterval(): i32 { return restartInterval; }

/** Find the marker that ends a restart interval and apply libjpeg's resync rules. */
let nextRst: i32 = 0;
function processRestart(): bool {
  bitsReset();
  let p = bpos;
  const e = bend;
  let insufficient = false;
  let first = true;
  while (true) {
    // next marker at or after p
    let q = p;
    let m = -1;
    while (q + 1 < e) {
      if (load<u8>(q) == 0xff) {
        let r = q + 1;
        while (r < e && load<u8>(r) == 0xff) r++;
        if (r >= e) break;
        const b = <i32>load<u8>(r);
        if (b != 0) {
          q = r - 1;
          m = b;
          break;
        }
        q = r + 1;
        continue;
      }
      q++;
    }
    if (m < 0) {
      // no marker left: the rest is empty
      setReader(e, true);
      warned = true;
      insufficient = true;
      break;
    }
    if (first && q != bpos) warned = true; // extraneous bytes before the marker
    first = false;
    if (m == 0xd0 + nextRst) {
      setReader(q + 2, false);
      break;
    }
    warned = true;
    let action = 1;
    if (m < 0xc0) action = 2;
    else if (m < 0xd0 || m > 0xd7) action = 3;
    else {
      const n = m - 0xd0;
      if (n == ((nextRst + 1) & 7) || n == ((nextRst + 2) & 7)) action = 3;
      else if (n == ((nextRst - 1) & 7) || n == ((nextRst - 2) & 7)) action = 2;
      else action = 1;
    }
    if (action == 1) {
      setReader(q + 2, false);
      break;
    }
    if (action == 3) {
      setReader(q, true);
      insufficient = true;
      break;
    }
    p = q + 2;
  }
  nextRst = (nextRst + 1) & 7;
  for (let c = 0; c < ncomp; c++) cset(c, F_PRED, 0);
  return insufficient;
}

/** Decode one block of component c at block position (bx, by) of its plane. */
/** Zero the coefficient block (64 x i16) for the next block's Huffman decode. */
@inline function clearBlock(): void {
  const z = i64x2.splat(0);
  v128.store(BLK, z, 0);
  v128.store(BLK, z, 16);
  v128.store(BLK, z, 32);
  v128.store(BLK, z, 48);
  v128.store(BLK, z, 64);
  v128.store(BLK, z, 80);
  v128.store(BLK, z, 96);
  v128.store(BLK, z, 112);
}

@inline function block(c: i32, bx: i32, by: i32, bs: i32, insufficient: bool): i32 {
  const stride = <usize>cget(c, F_STRIDE);
  const dst = <usize>cget(c, F_PLANE) + <usize>(by * bs) * stride + <usize>(bx * bs);
  if (insufficient) {
    fillDC(0, dst, stride, bs);
    return 0;
  }
  const q = QT + (<usize>cget(c, F_TQ) << 7);
  const pred = COMP + (((<usize>c << 5) + <usize>F_PRED) << 2);
  if (bs == 1) {
    const dc = decodeBlockDC(cget(c, F_TD), cget(c, F_TA), <i32>load<u16>(q), pred);
    if (dc == i32.MIN_VALUE) return -1;
    fillDC(dc, dst, stride, 1);
    return 0;
  }
  const r = decodeBlock(BLK, cget(c, F_TD), cget(c, F_TA), pred);
  if (r < 0) return -1;
  if (r == 0) {
    // dequantised in 16 bits, as the SIMD IDCTs do (pmullw)
    fillDC(<i32><i16>(<i32>load<i16>(BLK) * <i32>load<u16>(q)), dst, stride, bs);
    store<i16>(BLK, 0);
    return 0;
  }
  if (bs == 8 && useSimd) {
    idct8x8(BLK, q, dst, stride); // dequantises as it loads
  } else {
    dequantize(BLK, q);
    if (bs == 8) idct8x8Scalar(BLK, dst, stride);
    else if (bs == 4) {
      if (useSimd) idct4x4(BLK, dst, stride);
      else idct4x4Scalar(BLK, dst, stride);
    } else {
      if (useSimd) idct2x2(BLK, dst, stride);
      else idct2x2Scalar(BLK, dst, stride);
    }
  }
  clearBlock();
  return 0;
}

// The full-size interleaved scan (every component at 8x8, SIMD IDCT) runs
// from a per-MCU list of its blocks, worked out once per scan: where each
// block lands for MCU (0, 0) and how far it moves per MCU across / down, its
// tables and predictor. No per-block field lookups, multiplies or size tests.
const MB_MAX = 10; // blocks per MCU (JPEG's limit)
const MB_DST: usize = memory.data(MB_MAX * 4, 16);
const MB_DX: usize = memory.data(MB_MAX * 4, 16);
const MB_DY: usize = memory.data(MB_MAX * 4, 16);
const MB_STRIDE: usize = memory.data(MB_MAX * 4, 16);
const MB_DC: usize = memory.data(MB_MAX * 4, 16);
const MB_AC: usize = memory.data(MB_MAX * 4, 16);
const MB_Q: usize = memory.data(MB_MAX * 4, 16);
const MB_PRED: usize = memory.data(MB_MAX * 4, 16);

/** Fill the MB_* lists for the current scan; the block count, or 0 when the scan does not qualify. */
function mcuBlocks(): i32 {
  if (!useSimd) return 0;
  let n = 0;
  for (let i = 0; i < scanCount; i++) {
    const c = <i32>load<u8>(SCAN + <usize>i);
    if (cget(c, F_BS) != 8) return 0;
    const h = cget(c, F_H);
    const v = cget(c, F_V);
    const stride = cget(c, F_STRIDE);
    for (let yy = 0; yy < v; yy++) {
      for (let xx = 0; xx < h; xx++) {
        if (n >= MB_MAX) return 0;
        const o = <usize>n << 2;
        store<i32>(MB_DST + o, cget(c, F_PLANE) + yy * 8 * stride + xx * 8);
        store<i32>(MB_DX + o, 8 * h);
        store<i32>(MB_DY + o, 8 * v * stride);
        store<i32>(MB_STRIDE + o, stride);
        store<i32>(MB_DC + o, cget(c, F_TD));
        store<i32>(MB_AC + o, cget(c, F_TA));
        store<i32>(MB_Q + o, <i32>(QT + (<usize>cget(c, F_TQ) << 7)));
        store<i32>(MB_PRED + o, <i32>(COMP + (((<usize>c << 5) + <usize>F_PRED) << 2)));
        n++;
      }
    }
  }
  return n;
}

/** The blocks of MCU (mx, my) through the MB_* lists; -1 on a bad code. */
@inline function mcuFast(nb: i32, mx: i32, my: i32): i32 {
  for (let b = 0; b < nb; b++) {
    const o = <usize>b << 2;
    const stride = <usize>load<i32>(MB_STRIDE + o);
    const dst = <usize>load<i32>(MB_DST + o) + <usize>(mx * load<i32>(MB_DX + o)) + <usize>(my * load<i32>(MB_DY + o));
    const q = <usize>load<i32>(MB_Q + o);
    const r = decodeBlock(BLK, load<i32>(MB_DC + o), load<i32>(MB_AC + o), <usize>load<i32>(MB_PRED + o));
    if (r < 0) return -1;
    if (r == 0) {
      // dequantised in 16 bits, as the SIMD IDCTs do (pmullw)
      fillDC8(<i32><i16>(<i32>load<i16>(BLK) * <i32>load<u16>(q)), dst, stride);
      store<i16>(BLK, 0);
    } else {
      idct8x8(BLK, q, dst, stride);
      clearBlock();
    }
  }
  return 0;
}

function decodeScan(): i32 {
  for (let i = 0; i < scanCount; i++) {
    const c = <i32>load<u8>(SCAN + <usize>i);
    if ((qtDefined & (1 << cget(c, F_TQ))) == 0) return C_NO_QT;
    if ((htDefined & (1 << cget(c, F_TD))) == 0 || (htDefined & (1 << cget(c, F_TA))) == 0) return C_NO_HT;
    cset(c, F_PRED, 0);
    cset(c, F_DECODED, 1);
  }
  bitsInit(mpos, mend);
  nextRst = 0;
  let insufficient = false;
  const ri = restartInterval;
  let todo = ri;
  if (scanCount == 1) {
    // non-interleaved: the component's own blocks, raster order
    const c = <i32>load<u8>(SCAN);
    const cbs = cget(c, F_BS);
    const h = cget(c, F_H);
    const v = cget(c, F_V);
    const bx = ((width * h + hmax - 1) / hmax + 7) >> 3;
    const by = ((height * v + vmax - 1) / vmax + 7) >> 3;
    for (let y = 0; y < by; y++) {
      for (let x = 0; x < bx; x++) {
        if (ri) {
          if (todo == 0) {
            insufficient = processRestart();
            todo = ri;
          }
          todo--;
        }
        if (block(c, x, y, cbs, insufficient) < 0) return C_BAD_CODE;
        if (!insufficient && markerHit && exhausted()) {
          insufficient = true;
          warned = true;
        }
      }
    }
  } else {
    const nb = mcuBlocks();
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        if (ri) {
          if (todo == 0) {
            insufficient = processRestart();
            todo = ri;
          }
          todo--;
        }
        if (nb > 0 && !insufficient) {
          if (mcuFast(nb, mx, my) < 0) return C_BAD_CODE;
          if (markerHit && exhausted()) {
            insufficient = true;
            warned = true;
          }
          continue;
        }
        for (let i = 0; i < scanCount; i++) {
          const c = <i32>load<u8>(SCAN + <usize>i);
          const h = cget(c, F_H);
          const v = cget(c, F_V);
          const cbs = cget(c, F_BS);
          for (let yy = 0; yy < v; yy++) {
            for (let xx = 0; xx < h; xx++) {
              if (block(c, mx * h + xx, my * v + yy, cbs, insufficient) < 0) return C_BAD_CODE;
            }
          }
        }
        if (!insufficient && markerHit && exhausted()) {
          insufficient = true;
          warned = true;
        }
      }
    }
  }
  return OK;
}

/**
 * Decode the image whose header jpegReadHeader() parsed into `out`
 * (ceil(w/scale) x ceil(h/scale) pixels, `channels` 3 or 4 bytes each).
 * colorTransform: 0 auto (libjpeg rules), 1 none (components are R,G,B), 2 YCbCr.
 */
export function jpegDecode(out: usize, scale: i32, colorTransform: i32, channels: i32): i32 {
  if (!frameSeen || sosPos == 0) return C_NO_FRAME;
  if ((scale != 1 && scale != 2 && scale != 4 && scale != 8) || (channels != 3 && channels != 4)) return C_BAD_SCALE;
  const bs = 8 / scale;
  const outW = (width * bs + 7) >> 3;
  const outH = (height * bs + 7) >> 3;
  // planes and row buffers
  for (let c = 0; c < ncomp; c++) {
    const h = cget(c, F_H);
    const v = cget(c, F_V);
    // jdmaster.c: scale a subsampled component up through its IDCT while the
    // sampling ratios allow (powers of two in both directions).
    let cbs = bs;
    while (cbs < 8 && (hmax * bs) % (h * cbs * 2) == 0 && (vmax * bs) % (v * cbs * 2) == 0) cbs <<= 1;
    const bw = mcusX * h;
    const bh = mcusY * v;
    const stride = bw * cbs + 16;
    // 16 bytes before the plane: the fused h2v2 path (upsample-color.ts)
    // writes a replicated column -1 there for row 0.
    const base = alloc(<usize>stride * <usize>(bh * cbs) + 32);
    if (base == 0) return E_NOMEM;
    const plane = base + 16;
    cset(c, F_BS, cbs);
    cset(c, F_HE, h * cbs / bs);
    cset(c, F_VE, v * cbs / bs);
    cset(c, F_BW, bw);
    cset(c, F_BH, bh);
    cset(c, F_STRIDE, stride);
    cset(c, F_PLANE, <i32>plane);
    cset(c, F_CW, <i32>((<i64>width * h * cbs + <i64>(hmax * 8) - 1) / <i64>(hmax * 8)));
    cset(c, F_CH, <i32>((<i64>height * v * cbs + <i64>(vmax * 8) - 1) / <i64>(vmax * 8)));
    cset(c, F_DECODED, 0);
    if (cget(c, F_HE) != hmax || cget(c, F_VE) != vmax) {
      const row = alloc(<usize>((cget(c, F_CW) + 2) * hmax + outW + 64));
      if (row == 0) return E_NOMEM;
      cset(c, F_ROW, <i32>row);
    }
  }
  memory.fill(BLK, 0, 128);
  // scans
  setPos(sosPos);
  let r = readSos();
  if (r != OK) return r;
  while (true) {
    r = decodeScan();
    if (r != OK) return r;
    // find what follows the entropy data
    let m = findMarker(bpos);
    let done = false;
    while (true) {
      if (m == -1 || m == 0xd9) {
        done = true;
        break;
      }
      setPos(mpos + 2);
      if (m == 0xda) {
        r = readSos();
        if (r != OK) return r;
        break;
      }
      if (m == 0xdb || m == 0xc4 || m == 0xdd || (m >= 0xe0 && m <= 0xef) || m == 0xfe || m == 0x01) {
        if (m != 0x01) {
          tablesTouched(m);
          r = readSegment(m);
          if (r != OK) return r;
        }
        m = nextMarker();
        if (m == -2) m = findMarker(mpos); // stray bytes: mpos lands on the next marker's 0xFF
        else if (m > 0) setPos(mpos - 2);
        continue;
      }
      return C_BAD_MARKER;
    }
    if (done) break;
  }
  for (let c = 0; c < ncomp; c++) {
    if (!cget(c, F_DECODED)) {
      // a component no scan carried: mid grey, and say so
      memory.fill(<usize>cget(c, F_PLANE), 128, <usize>cget(c, F_STRIDE) * <usize>(cget(c, F_BH) * cget(c, F_BS)));
      warned = true;
    }
  }
  // colour
  let mode = 1;
  if (ncomp == 1) mode = 2;
  else if (colorTransform == 1) mode = 0;
  else if (colorTransform == 2) mode = 1;
  else if (sawJfif) mode = 1;
  else if (adobeTransform >= 0) mode = adobeTransform == 0 ? 0 : 1;
  else if (cget(0, F_ID) == 0x52 && cget(1, F_ID) == 0x47 && cget(2, F_ID) == 0x42) mode = 0;
  writeOutput(out, outW, outH, channels, mode, bs > 1);
  return warned ? WARN : OK;
}
