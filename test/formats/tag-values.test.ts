// TIFF field values out of their bytes (src/formats/tiff/tag-values.ts): every
// numeric type in both byte orders, against values written with DataView (an
// independent encoder), and 64-bit values at the edge of what a JS number holds.
import { describe, expect, it } from 'vitest';
import { decodeValues } from '../../src/formats/tiff/tag-values.js';
import { isImageboxError } from '../../src/errors.js';

type Put = (dv: DataView, o: number, v: number, little: boolean) => void;
const TYPES: [type: number, size: number, put: Put, values: number[]][] = [
  [3, 2, (d, o, v, l) => d.setUint16(o, v, l), [0, 1, 0x1234, 0xffff]],
  [8, 2, (d, o, v, l) => d.setInt16(o, v, l), [0, -1, -32768, 32767]],
  [4, 4, (d, o, v, l) => d.setUint32(o, v, l), [0, 1, 0x12345678, 0xffffffff]],
  [13, 4, (d, o, v, l) => d.setUint32(o, v, l), [8, 0xfffffff0]],
  [9, 4, (d, o, v, l) => d.setInt32(o, v, l), [-1, -2147483648, 2147483647]],
  [11, 4, (d, o, v, l) => d.setFloat32(o, v, l), [0.5, -2.25, 1024]],
  [12, 8, (d, o, v, l) => d.setFloat64(o, v, l), [Math.PI, -1e300]],
  [16, 8, (d, o, v, l) => d.setBigUint64(o, BigInt(v), l), [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 0x1234_5678_9abc, Number.MAX_SAFE_INTEGER]],
  [18, 8, (d, o, v, l) => d.setBigUint64(o, BigInt(v), l), [0x1_0000_0000_0001, 7]],
  [17, 8, (d, o, v, l) => d.setBigInt64(o, BigInt(v), l), [-1, -(2 ** 40), 2 ** 40, Number.MIN_SAFE_INTEGER]],
];

describe('decodeValues', () => {
  for (const little of [true, false]) {
    for (const [type, size, put, values] of TYPES) {
      it(`type ${type}, ${little ? 'little' : 'big'}-endian`, () => {
        const bytes = new Uint8Array(values.length * size);
        const dv = new DataView(bytes.buffer);
        values.forEach((v, i) => put(dv, i * size, v, little));
        expect(decodeValues(bytes, type, values.length, little)).toEqual(values);
      });
    }
    it(`a 64-bit offset or count beyond 2^53 is E_MALFORMED, not a rounded number (${little ? 'little' : 'big'}-endian)`, () => {
      for (const v of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
        const bytes = new Uint8Array(16);
        new DataView(bytes.buffer).setBigUint64(8, v, little);
        let err: unknown;
        try {
          decodeValues(bytes, 16, 2, little);
        } catch (e) {
          err = e;
        }
        expect(isImageboxError(err) && err.code).toBe('E_MALFORMED');
        expect(String((err as Error).message)).toContain(String(v));
      }
    });
  }
  it('64-bit values from a buffer at any alignment (a field inside a larger read)', () => {
    const values = [0, 2 ** 32 + 3, 0x1234_5678_9abc, Number.MAX_SAFE_INTEGER];
    for (const little of [true, false]) {
      for (let shift = 0; shift < 8; shift++) {
        const whole = new Uint8Array(shift + values.length * 8 + 3);
        const dv = new DataView(whole.buffer);
        values.forEach((v, i) => dv.setBigUint64(shift + i * 8, BigInt(v), little));
        expect(decodeValues(whole.subarray(shift, shift + values.length * 8), 16, values.length, little)).toEqual(values);
      }
    }
  });
  it('RATIONALs as num/den (0 for a zero denominator)', () => {
    const bytes = new Uint8Array(16);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, 3, true);
    dv.setUint32(4, 4, true);
    dv.setUint32(8, 5, true);
    dv.setUint32(12, 0, true);
    expect(decodeValues(bytes, 5, 2, true)).toEqual([0.75, 0]);
  });
});
