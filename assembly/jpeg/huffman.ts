// Huffman tables and the entropy decoder: a 64-bit MSB-first bit buffer filled
// 8 bytes at a time when no 0xFF is near, 11-bit lookahead tables that decode a
// code and its magnitude bits in one step, and a canonical (maxcode) slow path.
// Past a marker or the end of data the reader feeds zero bits and counts them
// (padBits), so the caller can tell "ran out of data" (libjpeg's
// insufficient_data) from a complete segment.

import {
  OK, C_BAD_DHT, FAST_BITS, FAST_SIZE, SKIP_BITS, HT_FAST, HT_FASTV, HT_SKIP, HT_MAXCODE, HT_VALOFF, HT_VALS, htDefined, setHtDefined, ZIGZAG,
} from "./state";

// ---- table construction ------------------------------------------------------

const HUFFSIZE: usize = memory.data(260, 16);
const HUFFCODE: usize = memory.data(260 * 4, 16);

// The DHT bytes each slot was last built from: a stream that redefines a slot
// with the same table (every self-contained tile of a file does) skips the
// rebuild of the lookahead tables, which is the expensive part.
const HT_SRC: usize = memory.data(8 * 288, 16);
const HT_SRCLEN: usize = memory.data(8 * 4, 16);

/** Build table t (class*4+id) from BITS (16 counts at `counts`) and HUFFVAL at `vals` (= counts + 16). */
export function buildHuffman(t: i32, counts: usize, vals: usize, tc: i32): i32 {
  let n = 0;
  for (let l = 0; l < 16; l++) n += <i32>load<u8>(counts + <usize>l);
  const srcLen = <usize>(16 + n);
  const src = HT_SRC + <usize>t * 288;
  const lenAt = HT_SRCLEN + (<usize>t << 2);
  if (vals == counts + 16 && <usize>load<i32>(lenAt) == srcLen && memory.compare(src, counts, srcLen) == 0) {
    setHtDefined(htDefined | (1 << t));
    return OK;
  }
  store<i32>(lenAt, 0);
  const r = buildTables(t, counts, vals, tc);
  if (r == OK && vals == counts + 16 && srcLen <= 288) {
    memory.copy(src, counts, srcLen);
    store<i32>(lenAt, <i32>srcLen);
  }
  return r;
}

function buildTables(t: i32, counts: usize, vals: usize, tc: i32): i32 {
  // Sizes and canonical codes (JPEG Annex C).
  let p = 0;
  for (let l = 1; l <= 16; l++) {
    const n = <i32>load<u8>(counts + <usize>(l - 1));
    for (let i = 0; i < n; i++) { store<u8>(HUFFSIZE + <usize>p, <u8>l); p++; }
  }
  store<u8>(HUFFSIZE + <usize>p, 0);
  const total = p;
  let code = 0;
  let si = <i32>load<u8>(HUFFSIZE);
  p = 0;
  while (load<u8>(HUFFSIZE + <usize>p) != 0) {
    while (<i32>load<u8>(HUFFSIZE + <usize>p) == si) {
      store<i32>(HUFFCODE + (<usize>p << 2), code);
      p++;
      code++;
    }
    if (code >= (1 << si)) return C_BAD_DHT; // codes overflow their length
    code <<= 1;
    si++;
  }
  const maxc = HT_MAXCODE + <usize>(t * 18 * 4);
  const voff = HT_VALOFF + <usize>(t * 18 * 4);
  p = 0;
  for (let l = 1; l <= 16; l++) {
    const n = <i32>load<u8>(counts + <usize>(l - 1));
    if (n) {
      store<i32>(voff + (<usize>l << 2), p - load<i32>(HUFFCODE + (<usize>p << 2)));
      p += n;
      store<i32>(maxc + (<usize>l << 2), load<i32>(HUFFCODE + (<usize>(p - 1) << 2)));
    } else {
      store<i32>(voff + (<usize>l << 2), 0);
      store<i32>(maxc + (<usize>l << 2), -1);
    }
  }
  store<i32>(maxc + (17 << 2), 0x7fffffff);
  const hv = HT_VALS + (<usize>t << 8);
  for (let i = 0; i < 256; i++) store<u8>(hv + <usize>i, i < total ? load<u8>(vals + <usize>i) : 0);
  if (tc == 0) {
    for (let i = 0; i < total; i++) if (load<u8>(hv + <usize>i) > 15) return C_BAD_DHT;
  }
  // Lookahead tables.
  const fast = HT_FAST + (<usize>t << (FAST_BITS + 1));
  const fastv = HT_FASTV + (<usize>t << (FAST_BITS + 2));
  memory.fill(fast, 0, <usize>FAST_SIZE * 2);
  memory.fill(fastv, 0, <usize>FAST_SIZE * 4);
  for (let i = 0; i < total; i++) {
    const l = <i32>load<u8>(HUFFSIZE + <usize>i);
    if (l > FAST_BITS) break;
    const c = load<i32>(HUFFCODE + (<usize>i << 2));
    const sym = <i32>load<u8>(hv + <usize>i);
    const shift = FAST_BITS - l;
    const lo = c << shift;
    const hi = (c + 1) << shift;
    for (let j = lo; j < hi; j++) {
      store<u16>(fast + (<usize>j << 1), <u16>((l << 8) | sym));
      const run = tc ? sym >> 4 : 0;
      const s = sym & 15;
      if (tc == 0 && s == 0) {
        store<i32>(fastv + (<usize>j << 2), l); // DC difference 0
      } else if (tc == 1 && s == 0) {
        // AC entries hold run + 1 (how far k advances). ZRL: 16 (15 zeros
        // and a zero); EOB (and the undefined r/0 symbols libjpeg treats as
        // EOB): 128 pushes k past the end. Both store a zero at a position not
        // decoded yet (ZIGZAG pads with 63), which is harmless.
        store<i32>(fastv + (<usize>j << 2), ((run == 15 ? 16 : 128) << 8) | l);
      } else if (s != 0 && l + s <= FAST_BITS) {
        const bits = (j >> (FAST_BITS - l - s)) & ((1 << s) - 1);
        const v = extend(bits, s);
        store<i32>(fastv + (<usize>j << 2), (v << 16) | ((tc ? run + 1 : 0) << 8) | (l + s));
      }
    }
  }
  if (tc == 1) buildSkip(t, fast);
  setHtDefined(htDefined | (1 << t));
  return OK;
}

/** The multi-symbol skip table of AC table t (see state.ts HT_SKIP). */
function buildSkip(t: i32, fast: usize): void {
  const skip = HT_SKIP + (<usize>(t - 4) << (SKIP_BITS + 2));
  const size = 1 << SKIP_BITS;
  for (let i = 0; i < size; i++) {
    let pos = 0;
    let adv = 0;
    let eob = 0;
    while (pos < SKIP_BITS) {
      // the next FAST_BITS bits (zero padded past the window) index the lookahead
      const rem = SKIP_BITS - pos;
      const window = rem >= FAST_BITS ? (i >> (rem - FAST_BITS)) & (FAST_SIZE - 1) : (i << (FAST_BITS - rem)) & (FAST_SIZE - 1);
      const f = <i32>load<u16>(fast + (<usize>window << 1));
      if (f == 0) break;
      const l = f >> 8;
      const r = (f >> 4) & 15;
      const s = f & 15;
      if (l + s > rem) break;
      pos += l + s;
      if (s == 0 && r != 15) {
        eob = 1;
        break;
      }
      adv += s == 0 ? 16 : r + 1;
    }
    store<i32>(skip + (<usize>i << 2), pos == 0 ? 0 : (eob << 16) | (adv << 8) | pos);
  }
}

@inline export function extend(v: i32, s: i32): i32 {
  return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

// ---- bit reader ---------------------------------------------------------------

export let bitBuf: u64 = 0;
export let bitCnt: i32 = 0;
export let bpos: usize = 0;
export let bend: usize = 0;
export let markerHit: bool = false;
export let padBits: i32 = 0;

export function bitsInit(p: usize, e: usize): void {
  bpos = p;
  bend = e;
  bitBuf = 0;
  bitCnt = 0;
  markerHit = false;
  padBits = 0;
}

/** Drop the bit buffer (at a restart marker). */
export function bitsReset(): void {
  bitBuf = 0;
  bitCnt = 0;
  padBits = 0;
}

export function setReader(p: usize, hit: bool): void {
  bpos = p;
  markerHit = hit;
}

/** True when decoding has consumed zero bits fed past a marker / the end. */
@inline export function exhausted(): bool {
  return padBits > bitCnt;
}

/** Fill the bit buffer to at least 57 bits. */
export function fill(): void {
  let buf = bitBuf;
  let cnt = bitCnt;
  let p = bpos;
  const e = bend;
  if (!markerHit && e - p >= 8 && p < e) {
    const v = bswap<u64>(load<u64>(p));
    const nv = ~v;
    // any 0xFF byte in v?
    if (((nv - 0x0101010101010101) & ~nv & 0x8080808080808080) == 0) {
      const nbytes = (64 - cnt) >> 3;
      const bits = nbytes << 3;
      buf |= (v >> <u64>(64 - bits)) << <u64>(64 - cnt - bits);
      cnt += bits;
      p += <usize>nbytes;
      bitBuf = buf;
      bitCnt = cnt;
      bpos = p;
      return;
    }
  }
  while (cnt <= 56) {
    if (markerHit || p >= e) {
      markerHit = true; // the end of the data counts as a marker
      padBits += 8;
      cnt += 8;
      continue;
    }
    const b = <u64>load<u8>(p);
    if (b == 0xff) {
      let q = p + 1;
      while (q < e && load<u8>(q) == 0xff) q++;
      if (q < e && load<u8>(q) == 0) {
        p = q + 1;
      } else {
        markerHit = true;
        p = q - 1; // at the 0xFF before the marker code
        padBits += 8;
        cnt += 8;
        continue;
      }
    } else {
      p++;
    }
    buf |= b << <u64>(56 - cnt);
    cnt += 8;
  }
  bitBuf = buf;
  bitCnt = cnt;
  bpos = p;
}

/** Decode one symbol with table t via the slow path (after a lookahead miss). -1 on a bad code. Needs >= 16 bits buffered. */
export function decodeSlow(t: i32): i32 {
  const buf = bitBuf;
  const maxc = HT_MAXCODE + <usize>(t * 18 * 4);
  let l = FAST_BITS + 1;
  let code = <i32>(buf >> <u64>(64 - l));
  while (code > load<i32>(maxc + (<usize>l << 2))) {
    l++;
    if (l > 16) return -1;
    code = <i32>(buf >> <u64>(64 - l));
  }
  bitBuf = buf << <u64>l;
  bitCnt -= l;
  const idx = (code + load<i32>(HT_VALOFF + <usize>(t * 18 * 4) + (<usize>l << 2))) & 0xff;
  return <i32>load<u8>(HT_VALS + (<usize>t << 8) + <usize>idx);
}

// The block decoders keep the bit buffer in locals (wasm globals are memory
// accesses in V8) and refill inline when no 0xFF is in the next 8 bytes: one
// 8-byte load, a byte reverse (pshufb) and an OR; whole bytes are counted
// (cnt | 56), the bits of the next byte below the count are real data that
// the next refill ORs in again, unchanged.

const ALLFF: v128 = i8x16.splat(-1);

/**
 * Decode one 8x8 block into `blk` (64 i16, natural order, NOT dequantised: the
 * IDCT multiplies by the table; blk must be all zero on entry). `pred` is the
 * address of the component's DC predictor. Returns 0 when only DC is set, 1
 * when some AC coefficient is, -1 on a bad Huffman code.
 */
export function decodeBlock(blk: usize, dcT: i32, acT: i32, pred: usize): i32 {
  let buf = bitBuf;
  let cnt = bitCnt;
  let p = bpos;
  let lim: usize = markerHit ? 0 : bend; // fast refill while p + 8 <= lim
  if (cnt < 32) {
    let v = ALLFF;
    if (p + 8 <= lim) v = v128.load64_zero(p);
    if (!v128.any_true(i8x16.eq(v, ALLFF))) {
      buf |= <u64>i64x2.extract_lane(i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11, 12, 13, 14, 15), 0) >> <u64>cnt;
      p += <usize>((63 - cnt) >> 3);
      cnt |= 56;
    } else {
      bitBuf = buf; bitCnt = cnt; bpos = p; fill(); buf = bitBuf; cnt = bitCnt; p = bpos; lim = markerHit ? 0 : bend;
    }
  }
  // DC
  let e = load<i32>(HT_FASTV + (<usize>dcT << (FAST_BITS + 2)) + (<usize>(buf >> <u64>(64 - FAST_BITS)) << 2));
  let diff = 0;
  if (e != 0) {
    const l = e & 0xff;
    buf <<= <u64>l;
    cnt -= l;
    diff = e >> 16;
  } else {
    let s = <i32>load<u16>(HT_FAST + (<usize>dcT << (FAST_BITS + 1)) + (<usize>(buf >> <u64>(64 - FAST_BITS)) << 1));
    if (s != 0) {
      const l = s >> 8;
      buf <<= <u64>l;
      cnt -= l;
      s &= 0xff;
    } else {
      bitBuf = buf; bitCnt = cnt;
      s = decodeSlow(dcT);
      buf = bitBuf; cnt = bitCnt;
      if (s < 0) { bpos = p; return -1; }
    }
    if (s) {
      const v = <i32>(buf >> <u64>(64 - s));
      buf <<= <u64>s;
      cnt -= s;
      diff = extend(v, s);
    }
  }
  const dc = load<i32>(pred) + diff;
  store<i32>(pred, dc);
  store<i16>(blk, <i16>dc);
  // AC
  const fastv = HT_FASTV + (<usize>acT << (FAST_BITS + 2));
  const fast = HT_FAST + (<usize>acT << (FAST_BITS + 1));
  let k = 1;
  while (k < 64) {
    // an AC symbol takes at most 26 bits (16-bit code + 10 magnitude bits)
    if (cnt < 26) {
      let v = ALLFF;
      if (p + 8 <= lim) v = v128.load64_zero(p);
      if (!v128.any_true(i8x16.eq(v, ALLFF))) {
        buf |= <u64>i64x2.extract_lane(i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11, 12, 13, 14, 15), 0) >> <u64>cnt;
        p += <usize>((63 - cnt) >> 3);
        cnt |= 56;
      } else {
        bitBuf = buf; bitCnt = cnt; bpos = p; fill(); buf = bitBuf; cnt = bitCnt; p = bpos; lim = markerHit ? 0 : bend;
      }
    }
    const idx = <usize>(buf >> <u64>(64 - FAST_BITS));
    e = load<i32>(fastv + (idx << 2));
    if (e != 0) {
      const l = e & 0xff;
      buf <<= <u64>l;
      cnt -= l;
      k += (e >> 8) & 0xff; // run + 1
      store<i16>(blk + (<usize>load<u8>(ZIGZAG - 1 + <usize>k) << 1), <i16>(e >> 16));
      continue;
    }
    let rs = <i32>load<u16>(fast + (idx << 1));
    if (rs != 0) {
      const l = rs >> 8;
      buf <<= <u64>l;
      cnt -= l;
      rs &= 0xff;
    } else {
      bitBuf = buf; bitCnt = cnt;
      rs = decodeSlow(acT);
      buf = bitBuf; cnt = bitCnt;
      if (rs < 0) { bpos = p; return -1; }
    }
    const r = rs >> 4;
    const s = rs & 15;
    if (s) {
      k += r;
      const bits = <i32>(buf >> <u64>(64 - s));
      buf <<= <u64>s;
      cnt -= s;
      store<i16>(blk + (<usize>load<u8>(ZIGZAG + <usize>k) << 1), <i16>extend(bits, s));
      k++;
    } else {
      if (r != 15) break;
      k += 16;
    }
  }
  bitBuf = buf;
  bitCnt = cnt;
  bpos = p;
  // k == 1: EOB right after DC via the slow path; 129: via the lookahead (run + 1 = 128)
  return k == 1 || k == 129 ? 0 : 1;
}

/**
 * Decode one block for a DC-only (1/8) output: the AC coefficients are
 * Huffman-decoded and skipped (no dequantisation, no store). Returns the
 * dequantised DC, or i32.MIN_VALUE on a bad code.
 */
export function decodeBlockDC(dcT: i32, acT: i32, q0: i32, pred: usize): i32 {
  let buf = bitBuf;
  let cnt = bitCnt;
  if (cnt < 32) {
    bitBuf = buf; bitCnt = cnt; fill(); buf = bitBuf; cnt = bitCnt;
  }
  let e = load<i32>(HT_FASTV + (<usize>dcT << (FAST_BITS + 2)) + (<usize>(buf >> <u64>(64 - FAST_BITS)) << 2));
  let diff = 0;
  if (e != 0) {
    const l = e & 0xff;
    buf <<= <u64>l;
    cnt -= l;
    diff = e >> 16;
  } else {
    let s = <i32>load<u16>(HT_FAST + (<usize>dcT << (FAST_BITS + 1)) + (<usize>(buf >> <u64>(64 - FAST_BITS)) << 1));
    if (s != 0) {
      const l = s >> 8;
      buf <<= <u64>l;
      cnt -= l;
      s &= 0xff;
    } else {
      bitBuf = buf; bitCnt = cnt;
      s = decodeSlow(dcT);
      buf = bitBuf; cnt = bitCnt;
      if (s < 0) return i32.MIN_VALUE;
    }
    if (s) {
      const v = <i32>(buf >> <u64>(64 - s));
      buf <<= <u64>s;
      cnt -= s;
      diff = extend(v, s);
    }
  }
  const dc = load<i32>(pred) + diff;
  store<i32>(pred, dc);
  const fastv = HT_FASTV + (<usize>acT << (FAST_BITS + 2));
  const fast = HT_FAST + (<usize>acT << (FAST_BITS + 1));
  const skip = HT_SKIP + (<usize>(acT - 4) << (SKIP_BITS + 2));
  let k = 1;
  while (k < 64) {
    if (cnt < 32) {
      const p = bpos;
      if (!markerHit && bend - p >= 8) {
        const v = bswap<u64>(load<u64>(p));
        const nv = ~v;
        if (((nv - 0x0101010101010101) & ~nv & 0x8080808080808080) == 0) {
          const nb = (64 - cnt) >> 3;
          buf |= (v >> <u64>(64 - (nb << 3))) << <u64>(64 - cnt - (nb << 3));
          cnt += nb << 3;
          bpos = p + <usize>nb;
        } else {
          bitBuf = buf; bitCnt = cnt; fill(); buf = bitBuf; cnt = bitCnt;
        }
      } else {
        bitBuf = buf; bitCnt = cnt; fill(); buf = bitBuf; cnt = bitCnt;
      }
    }
    const idx = <usize>(buf >> <u64>(64 - FAST_BITS));
    // several symbols at once, when they all belong to this block
    const m = load<i32>(skip + (<usize>(buf >> <u64>(64 - SKIP_BITS)) << 2));
    if (m != 0 && k + ((m >> 8) & 0xff) <= 64) {
      const l = m & 0x1f;
      buf <<= <u64>l;
      cnt -= l;
      if (m & 0x10000) break;
      k += (m >> 8) & 0xff;
      continue;
    }
    e = load<i32>(fastv + (idx << 2));
    if (e != 0) {
      const l = e & 0xff;
      buf <<= <u64>l;
      cnt -= l;
      k += (e >> 8) & 0xff;
      continue;
    }
    let rs = <i32>load<u16>(fast + (idx << 1));
    if (rs != 0) {
      const l = rs >> 8;
      buf <<= <u64>l;
      cnt -= l;
      rs &= 0xff;
    } else {
      bitBuf = buf; bitCnt = cnt;
      rs = decodeSlow(acT);
      buf = bitBuf; cnt = bitCnt;
      if (rs < 0) return i32.MIN_VALUE;
    }
    const r = rs >> 4;
    const s = rs & 15;
    if (s) {
      k += r + 1;
      buf <<= <u64>s;
      cnt -= s;
    } else {
      if (r != 15) break;
      k += 16;
    }
  }
  bitBuf = buf;
  bitCnt = cnt;
  return <i32><i16>(dc * q0);
}
