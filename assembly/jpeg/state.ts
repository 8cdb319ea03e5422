// Decoder state shared by the JPEG kernel files: tables, frame and component
// descriptions, and the status codes. Everything lives in static memory
// (memory.data) or in wasm globals: the decoder never allocates per tile; only
// the component planes and row buffers come from the bump allocator (memory.ts),
// sized for the current image and reused (reset) by the next job.

// ---- status codes returned by the exported functions -----------------------
// 0 ok, 1 ok with a warning (entropy data ended early / bad restart marker:
// decoded as far as it goes, like libjpeg). Negative = error:
//   -(100 + n): corrupt stream (E_CORRUPT_TILE), n = detail below
//   -(200 + n): unsupported coding (E_UNSUPPORTED_CODEC)
//   -300: out of memory (the image needs more memory than the kernel may take)
export const OK: i32 = 0;
export const WARN: i32 = 1;

export const C_NO_SOI: i32 = -101;
export const C_BAD_MARKER: i32 = -102; // expected a marker, found data
export const C_BAD_LENGTH: i32 = -103; // segment length wrong / past the end
export const C_BAD_DQT: i32 = -104;
export const C_BAD_DHT: i32 = -105;
export const C_BAD_SOF: i32 = -106;
export const C_BAD_SOS: i32 = -107;
export const C_NO_FRAME: i32 = -108; // SOS before SOF, or EOI/end before any scan
export const C_NO_QT: i32 = -109; // quantisation table referenced but never defined
export const C_NO_HT: i32 = -110; // Huffman table referenced but never defined
export const C_BAD_CODE: i32 = -111; // invalid Huffman code in the entropy data
export const C_TOO_BIG: i32 = -112; // dimensions over the bound (64 Mpx / 65500)
export const C_BAD_DRI: i32 = -113;
export const C_TRUNCATED: i32 = -114; // header ends before the first scan
export const C_BAD_TABLES: i32 = -115; // the JPEGTables stream is not SOI ... EOI
export const C_DUP_FRAME: i32 = -116; // a second SOF
export const C_BAD_SCALE: i32 = -117; // host passed a bad argument

export const U_PROGRESSIVE: i32 = -201;
export const U_ARITHMETIC: i32 = -202;
export const U_LOSSLESS: i32 = -203;
export const U_HIERARCHICAL: i32 = -204;
export const U_PRECISION: i32 = -205; // 12/16-bit samples
export const U_COMPONENTS: i32 = -206; // not 1 or 3 components
export const U_DNL: i32 = -207; // height 0 in SOF (defined later by DNL)

export const E_NOMEM: i32 = -300;

/** Largest image accepted: 64 Mpx, and each side <= 65500. */
export const MAX_PIXELS: u64 = 64 * 1024 * 1024;

// ---- tables ----------------------------------------------------------------
// Quantisation tables: 4 x 64 u16, natural (row-major) order.
export const QT: usize = memory.data(4 * 64 * 2, 16);
export let qtDefined: i32 = 0; // bit mask

// Huffman tables: index t = class * 4 + id (class 0 = DC, 1 = AC).
// FAST: 2^FAST_BITS x u16 per table, indexed by the next FAST_BITS bits: (length << 8) | symbol,
//       0 when the code is longer than FAST_BITS.
// FASTV: 2^FAST_BITS x i32 per table: code + magnitude bits decoded at once when
//       code length + magnitude bits <= FAST_BITS: (value << 16) | (run << 8) | bits used;
//       AC EOB / ZRL are entries too (value 0, run 127 / 15); 0 when not
//       possible (long code, too many magnitude bits).
// MAXCODE: 18 x i32 per table: largest code of each length (left-aligned
//       compare is done on the code value), -1 when none.
// VALOFF: 18 x i32 per table: index of the first symbol of each length minus
//       its first code.
// VALS: 256 x u8 per table: the symbols.
export const FAST_BITS: i32 = 11;
export const FAST_SIZE: i32 = 1 << FAST_BITS;
export const HT_FAST: usize = memory.data(8 * FAST_SIZE * 2, 16);
export const HT_FASTV: usize = memory.data(8 * FAST_SIZE * 4, 16);
// SKIP (AC tables only, used by the DC-only 1/8 decode): 2^SKIP_BITS x i32:
//       as many whole AC symbols (code + magnitude bits) as fit in the next
//       SKIP_BITS bits: bits used (bits 0-4), coefficients advanced (8-15),
//       bit 16 set when the last one is EOB; 0 when not even one fits.
export const SKIP_BITS: i32 = 11;
export const HT_SKIP: usize = memory.data(4 * (1 << SKIP_BITS) * 4, 16);
export const HT_MAXCODE: usize = memory.data(8 * 18 * 4, 16);
export const HT_VALOFF: usize = memory.data(8 * 18 * 4, 16);
export const HT_VALS: usize = memory.data(8 * 256, 16);
export let htDefined: i32 = 0; // bit mask over t

export function setQtDefined(m: i32): void { qtDefined = m; }
export function setHtDefined(m: i32): void { htDefined = m; }

// ---- frame -----------------------------------------------------------------
export let frameSeen: bool = false;
export let width: i32 = 0;
export let height: i32 = 0;
export let ncomp: i32 = 0;
export let hmax: i32 = 1;
export let vmax: i32 = 1;
export let mcusX: i32 = 0;
export let mcusY: i32 = 0;
export let restartInterval: i32 = 0;
export let sawJfif: bool = false;
export let adobeTransform: i32 = -1; // -1: no Adobe APP14
export let sofType: i32 = 0;

export function setFrame(w: i32, h: i32, n: i32, hm: i32, vm: i32, type: i32): void {
  frameSeen = true;
  width = w;
  height = h;
  ncomp = n;
  hmax = hm;
  vmax = vm;
  sofType = type;
  mcusX = (w + 8 * hm - 1) / (8 * hm);
  mcusY = (h + 8 * vm - 1) / (8 * vm);
}
export function setRestartInterval(r: i32): void { restartInterval = r; }
export function setJfif(): void { sawJfif = true; }
export function setAdobe(t: i32): void { adobeTransform = t; }

export function resetFrame(): void {
  frameSeen = false;
  width = 0;
  height = 0;
  ncomp = 0;
  hmax = 1;
  vmax = 1;
  mcusX = 0;
  mcusY = 0;
  restartInterval = 0;
  sawJfif = false;
  adobeTransform = -1;
  sofType = 0;
}

// Components: 4 x 32 i32 fields.
export const COMP: usize = memory.data(4 * 32 * 4, 16);
export const F_ID: i32 = 0;
export const F_H: i32 = 1;
export const F_V: i32 = 2;
export const F_TQ: i32 = 3;
export const F_TD: i32 = 4; // DC table of the current scan
export const F_TA: i32 = 5; // AC table of the current scan
export const F_PRED: i32 = 6; // DC predictor
export const F_PLANE: i32 = 7; // plane pointer (samples at scaled size)
export const F_STRIDE: i32 = 8; // plane row stride in bytes
export const F_BW: i32 = 9; // blocks across the plane (mcusX * H)
export const F_BH: i32 = 10; // blocks down the plane (mcusY * V)
export const F_CW: i32 = 11; // component width in samples at the output scale
export const F_CH: i32 = 12; // component height in samples at the output scale
export const F_ROW: i32 = 13; // upsampled row buffer
export const F_DECODED: i32 = 14; // 1 once some scan carried this component
// libjpeg scales chroma up through the IDCT where it can (jdmaster.c): a 4:2:0
// chroma block becomes 8x8 at 1/2 scale, so the upsampler sees 1:1.
export const F_BS: i32 = 15; // IDCT output size for this component (1, 2, 4, 8)
export const F_HE: i32 = 16; // sampling factors as the upsampler sees them: H * BS / min BS
export const F_VE: i32 = 17;

@inline export function cget(c: i32, f: i32): i32 {
  return load<i32>(COMP + (((c << 5) + f) << 2));
}
@inline export function cset(c: i32, f: i32, v: i32): void {
  store<i32>(COMP + (((c << 5) + f) << 2), v);
}

// Zigzag -> natural order, padded to 256 entries with 63: a corrupt run that
// overshoots, and the lookahead's EOB (run 127), write harmlessly into the
// last coefficient, which cannot have been decoded yet (libjpeg pads too).
export const ZIGZAG: usize = memory.data<u8>([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);
