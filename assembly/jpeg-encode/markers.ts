// JFIF headers of a baseline JPEG: SOI, APP0 (JFIF 1.01), DQT, SOF0, DHT, SOS; EOI.

import { putByte, putU16 } from './bit-writer';
import {
  AC_CHROMA_BITS, AC_CHROMA_VALS, AC_LUMA_BITS, AC_LUMA_VALS, DC_CHROMA_BITS, DC_CHROMA_VALS,
  DC_LUMA_BITS, DC_LUMA_VALS, NATURAL_ORDER, QUANT,
} from './tables';

function putBytes(p: usize, n: i32): void {
  for (let i = 0; i < n; i++) putByte(load<u8>(p + <usize>i));
}

function countVals(bits: usize): i32 {
  let n = 0;
  for (let i = 0; i < 16; i++) n += load<u8>(bits + <usize>i);
  return n;
}

function putHuffTable(cls: u32, id: u32, bits: usize, vals: usize): void {
  putByte((cls << 4) | id);
  putBytes(bits, 16);
  putBytes(vals, countVals(bits));
}

/** Everything before the entropy-coded data. `comps` 1 (grey) or 3; `sub` 2 for 4:2:0 luma sampling, else 1. */
export function writeHeaders(width: i32, height: i32, comps: i32, sub: i32): void {
  putU16(0xffd8); // SOI
  putU16(0xffe0); // APP0 JFIF
  putU16(16);
  putByte(0x4a); putByte(0x46); putByte(0x49); putByte(0x46); putByte(0);
  putByte(1); putByte(1); // version 1.01
  putByte(0); // aspect ratio units
  putU16(1); putU16(1);
  putByte(0); putByte(0); // no thumbnail
  const tables = comps == 1 ? 1 : 2;
  putU16(0xffdb); // DQT
  putU16(2 + 65 * tables);
  for (let t = 0; t < tables; t++) {
    putByte(<u32>t);
    for (let i = 0; i < 64; i++) putByte(load<u8>(QUANT + <usize>(t * 64) + <usize>load<u8>(NATURAL_ORDER + <usize>i)));
  }
  putU16(0xffc0); // SOF0
  putU16(8 + 3 * comps);
  putByte(8);
  putU16(<u32>height);
  putU16(<u32>width);
  putByte(<u32>comps);
  for (let c = 0; c < comps; c++) {
    putByte(<u32>(c + 1));
    putByte(c == 0 ? <u32>((sub << 4) | sub) : 0x11);
    putByte(c == 0 ? 0 : 1);
  }
  putU16(0xffc4); // DHT
  let len = 2 + 17 + countVals(DC_LUMA_BITS) + 17 + countVals(AC_LUMA_BITS);
  if (comps > 1) len += 17 + countVals(DC_CHROMA_BITS) + 17 + countVals(AC_CHROMA_BITS);
  putU16(<u32>len);
  putHuffTable(0, 0, DC_LUMA_BITS, DC_LUMA_VALS);
  putHuffTable(1, 0, AC_LUMA_BITS, AC_LUMA_VALS);
  if (comps > 1) {
    putHuffTable(0, 1, DC_CHROMA_BITS, DC_CHROMA_VALS);
    putHuffTable(1, 1, AC_CHROMA_BITS, AC_CHROMA_VALS);
  }
  putU16(0xffda); // SOS
  putU16(<u32>(6 + 2 * comps));
  putByte(<u32>comps);
  for (let c = 0; c < comps; c++) {
    putByte(<u32>(c + 1));
    putByte(c == 0 ? 0x00 : 0x11);
  }
  putByte(0);
  putByte(63);
  putByte(0);
}

export function writeEoi(): void {
  putU16(0xffd9);
}
