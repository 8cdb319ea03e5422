import { expect } from 'vitest';
import { ImageboxError } from '../../src/errors.js';

/** Byte-exact comparison that stays fast on megabytes (toEqual walks element by element). */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.length).toBe(expected.length);
  const same = Buffer.compare(Buffer.from(actual!.buffer, actual!.byteOffset, actual!.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) === 0;
  expect(same, 'bytes differ').toBe(true);
}

/** The ImageboxError code a promise fails with, or 'OK' when it resolves (other errors propagate). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ImageboxError) return e.code;
    throw e;
  }
  return 'OK';
}
