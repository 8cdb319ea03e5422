// Decoding a TIFF field's bytes into JS values, for every field type.
import { ImageboxError } from '../../errors.js';
import { EndianView } from './endian-view.js';

/** Decoded value of one field: text for ASCII, bytes for BYTE/UNDEFINED, numbers otherwise. */
export type TagValue = string | Uint8Array | number[];

/** Decode `count` values of `type` from `bytes` (exactly count * size long). */
export function decodeValues(bytes: Uint8Array, type: number, count: number, little: boolean): TagValue {
  const v = new EndianView(bytes, little);
  switch (type) {
    case 2: {
      // ASCII: NUL-terminated, possibly several strings; we keep the text up to the last NUL.
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end--;
      return new TextDecoder('latin1').decode(bytes.subarray(0, end)).replace(/\0/g, '\n');
    }
    case 1:
    case 7:
      return bytes.slice(0, count);
    default:
      break;
  }
  // the long arrays (tile offsets and byte counts) in a loop of their own type
  if ((type === 16 || type === 18) && little && LITTLE_HOST) return u64sLittle(bytes, count);
  const out = new Array<number>(count);
  if (type === 16 || type === 18) for (let i = 0; i < count; i++) out[i] = v.u64(i * 8);
  else if (type === 4 || type === 13) for (let i = 0; i < count; i++) out[i] = v.u32(i * 4);
  else if (type === 3) for (let i = 0; i < count; i++) out[i] = v.u16(i * 2);
  else for (let i = 0; i < count; i++) out[i] = readOne(v, type, i);
  return out;
}

const LITTLE_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `count` little-endian unsigned 64-bit values through a 32-bit view (no DataView
 * call, no BigInt per value: level 0's offset and byte-count arrays of a large
 * BigTIFF are 10^5-10^6 of them); a value past 2^53 is E_MALFORMED, as in u64().
 */
function u64sLittle(bytes: Uint8Array, count: number): number[] {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice(0, count * 8);
  const w = new Uint32Array(aligned.buffer, aligned.byteOffset, count * 2);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const hi = w[2 * i + 1]!;
    // past 2^53: u64() reads it again and throws its E_MALFORMED
    out[i] = hi > 0x1fffff ? new EndianView(aligned, true).u64(i * 8) : hi * 0x1_0000_0000 + w[2 * i]!;
  }
  return out;
}

/** Read the i-th value of a numeric field. RATIONALs as num/den. */
export function readOne(v: EndianView, type: number, i: number): number {
  switch (type) {
    case 1:
    case 7:
      return v.u8(i);
    case 6:
      return v.i8(i);
    case 3:
      return v.u16(i * 2);
    case 8:
      return v.i16(i * 2);
    case 4:
    case 13:
      return v.u32(i * 4);
    case 9:
      return v.i32(i * 4);
    case 5: {
      const den = v.u32(i * 8 + 4);
      return den === 0 ? 0 : v.u32(i * 8) / den;
    }
    case 10: {
      const den = v.i32(i * 8 + 4);
      return den === 0 ? 0 : v.i32(i * 8) / den;
    }
    case 11:
      return v.f32(i * 4);
    case 12:
      return v.f64(i * 8);
    case 16:
    case 18:
      return v.u64(i * 8);
    case 17:
      return v.i64(i * 8);
    default:
      throw new ImageboxError('E_MALFORMED', `unknown TIFF field type ${type}`);
  }
}
