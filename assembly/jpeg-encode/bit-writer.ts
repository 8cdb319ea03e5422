// Bounded JPEG output: bytes and entropy-coded bits (0xFF followed by a stuffed
// 0x00). Never writes past start + cap; once full it keeps counting and flags
// overflow so the caller can retry with a larger buffer.

let base: usize = 0;
let cap: i32 = 0;
let pos: i32 = 0;
let acc: u32 = 0;
let nbits: i32 = 0;

export function bwStart(dst: usize, capacity: i32): void {
  base = dst;
  cap = capacity;
  pos = 0;
  acc = 0;
  nbits = 0;
}

/** Bytes produced so far (may exceed the capacity: then bwOverflow()). */
export function bwPos(): i32 {
  return pos;
}

export function bwOverflow(): bool {
  return pos > cap;
}

// @ts-ignore: decorator
@inline export function putByte(b: u32): void {
  if (pos < cap) store<u8>(base + <usize>pos, <u8>b);
  pos++;
}

export function putU16(v: u32): void {
  putByte(v >> 8);
  putByte(v & 0xff);
}

/** Append the `size` low bits of `code` (size <= 16), MSB first, with byte stuffing. */
// @ts-ignore: decorator
@inline export function putBits(code: u32, size: i32): void {
  acc = (acc << <u32>size) | (code & ((<u32>1 << <u32>size) - 1));
  nbits += size;
  while (nbits >= 8) {
    nbits -= 8;
    const b = (acc >> <u32>nbits) & 0xff;
    putByte(b);
    if (b == 0xff) putByte(0);
  }
}

/** Pad the last byte with 1 bits. */
export function flushBits(): void {
  if (nbits > 0) putBits(0x7f, 8 - nbits);
  acc = 0;
  nbits = 0;
}
