// Endian-aware reads of TIFF scalars out of a byte buffer.
import { ImageboxError } from '../../errors.js';

export class EndianView {
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly little: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  u8(o: number): number {
    return this.dv.getUint8(o);
  }
  u16(o: number): number {
    return this.dv.getUint16(o, this.little);
  }
  u32(o: number): number {
    return this.dv.getUint32(o, this.little);
  }
  i8(o: number): number {
    return this.dv.getInt8(o);
  }
  i16(o: number): number {
    return this.dv.getInt16(o, this.little);
  }
  i32(o: number): number {
    return this.dv.getInt32(o, this.little);
  }
  f32(o: number): number {
    return this.dv.getFloat32(o, this.little);
  }
  f64(o: number): number {
    return this.dv.getFloat64(o, this.little);
  }
  /** An unsigned 64-bit value; offsets and counts beyond 2^53 cannot be real here. */
  u64(o: number): number {
    // two 32-bit halves, no BigInt: level 0's offset arrays are read value by value
    const lo = this.dv.getUint32(this.little ? o : o + 4, this.little);
    const hi = this.dv.getUint32(this.little ? o + 4 : o, this.little);
    if (hi > 0x1fffff) {
      throw new ImageboxError('E_MALFORMED', `64-bit value ${this.dv.getBigUint64(o, this.little)} is out of range`);
    }
    return hi * 0x1_0000_0000 + lo;
  }
  i64(o: number): number {
    const v = this.dv.getBigInt64(o, this.little);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ImageboxError('E_MALFORMED', `64-bit value ${v} is out of range`);
    }
    return Number(v);
  }
}
