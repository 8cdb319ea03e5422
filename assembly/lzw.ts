// TIFF LZW decoder (Compression 5): codes MSB-first, 9..12 bits, ClearCode 256,
// EndOfInformation 257, "early change" (the width grows one code early, as
// libtiff writes it). Each dictionary entry is a (position, length) pair into the
// output already written: an entry is the previous code's string plus the first
// byte of the next, and those bytes sit next to each other in the output, so a
// code expands with one memory.copy. The output is bounded by `cap`; nothing is
// ever written past dst + cap.

const CLEAR: i32 = 256;
const EOI: i32 = 257;
const MAX_CODES: i32 = 4096;

/** Status of the last lzw_decode call. */
export const LZW_OK: i32 = 0; // stopped at EndOfInformation
export const LZW_NO_EOI: i32 = 1; // input ended before EndOfInformation
export const LZW_FULL: i32 = 2; // output reached cap while the stream still had codes
export const LZW_BAD_CODE: i32 = -1; // a code that is not in the table
export const LZW_OLD_STYLE: i32 = -2; // pre-5.0 LSB-first LZW (not supported)

const entryPos = memory.data(MAX_CODES * 4, 16); // u32 output offset of each code's string
const entryLen = memory.data(MAX_CODES * 4, 16); // u32 length of each code's string

let status: i32 = 0;

/** Status of the last lzw_decode (LZW_*). */
export function lzw_status(): i32 {
  return status;
}

/**
 * Decode `srcLen` bytes at `src` into at most `cap` bytes at `dst`.
 * Returns the number of bytes written; lzw_status() says how it ended.
 */
export function lzw_decode(src: usize, srcLen: i32, dst: usize, cap: i32): i32 {
  status = LZW_NO_EOI;
  if (srcLen >= 2 && load<u8>(src) == 0 && (load<u8>(src + 1) & 1) != 0) {
    status = LZW_OLD_STYLE;
    return 0;
  }
  let inPos: i32 = 0;
  let bitBuf: u64 = 0; // bits waiting, MSB-aligned at bit (bitCount-1)
  let bitCount: i32 = 0;
  let width: i32 = 9;
  let next: i32 = 258; // next free code
  let prev: i32 = -1; // previous code (-1 right after a clear)
  let out: i32 = 0;
  for (;;) {
    // Refill: keep at least `width` bits.
    while (bitCount < width) {
      if (inPos >= srcLen) return out; // ran out of input: NO_EOI
      bitBuf = (bitBuf << 8) | <u64>load<u8>(src + <usize>inPos);
      inPos++;
      bitCount += 8;
    }
    bitCount -= width;
    const code = <i32>((bitBuf >> <u64>bitCount) & <u64>((1 << width) - 1));
    if (code == CLEAR) {
      width = 9;
      next = 258;
      prev = -1;
      continue;
    }
    if (code == EOI) {
      status = LZW_OK;
      return out;
    }
    if (prev < 0) {
      // first code after a clear must be a literal
      if (code > 255) {
        status = LZW_BAD_CODE;
        return out;
      }
      if (out >= cap) {
        status = LZW_FULL;
        return out;
      }
      store<u8>(dst + <usize>out, <u8>code);
      store<u32>(entryPos + (<usize>code << 2), out);
      store<u32>(entryLen + (<usize>code << 2), 1);
      out++;
      prev = code;
      continue;
    }
    const start = out;
    let len: i32;
    if (code < 256) {
      if (out >= cap) {
        status = LZW_FULL;
        return out;
      }
      store<u8>(dst + <usize>out, <u8>code);
      len = 1;
    } else if (code < next) {
      const p = load<u32>(entryPos + (<usize>code << 2));
      len = load<u32>(entryLen + (<usize>code << 2));
      if (len > cap - out) {
        memory.copy(dst + <usize>out, dst + <usize>p, <usize>(cap - out));
        status = LZW_FULL;
        return cap;
      }
      memory.copy(dst + <usize>out, dst + <usize>p, <usize>len);
    } else if (code == next && next < MAX_CODES) {
      // KwKwK: previous string + its own first byte
      const p = load<u32>(entryPos + (<usize>prev << 2));
      const pl = <i32>load<u32>(entryLen + (<usize>prev << 2));
      len = pl + 1;
      if (len > cap - out) {
        const n = cap - out;
        memory.copy(dst + <usize>out, dst + <usize>p, <usize>min(n, pl));
        if (n > pl) store<u8>(dst + <usize>(out + pl), load<u8>(dst + <usize>p));
        status = LZW_FULL;
        return cap;
      }
      memory.copy(dst + <usize>out, dst + <usize>p, <usize>pl);
      store<u8>(dst + <usize>(out + pl), load<u8>(dst + <usize>p));
    } else {
      status = LZW_BAD_CODE;
      return out;
    }
    out += len;
    // new entry: prev's string + first byte of this one (contiguous in the output)
    if (next < MAX_CODES) {
      const pp = load<u32>(entryPos + (<usize>prev << 2));
      const pl = load<u32>(entryLen + (<usize>prev << 2));
      store<u32>(entryPos + (<usize>next << 2), pp);
      store<u32>(entryLen + (<usize>next << 2), pl + 1);
      next++;
    }
    // this code's string now also lives at `start` (fresher, same bytes)
    store<u32>(entryPos + (<usize>code << 2), start);
    store<u32>(entryLen + (<usize>code << 2), len);
    // early change: 9 bits up to code 510, 10 up to 1022, 11 up to 2046
    if (next + 1 >= (1 << width) && width < 12) width++;
    prev = code;
  }
  return out; // not reached
}
