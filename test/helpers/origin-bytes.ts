import { expect } from 'vitest';

/** Byte-exact comparison that stays fast on megabytes (toEqual walks element by element). */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.length).toBe(expected.length);
  const same = Buffer.compare(Buffer.from(actual!.buffer, actual!.byteOffset, actual!.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) === 0;
  expect(same, 'bytes differ').toBe(true);
}
