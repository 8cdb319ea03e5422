/** xorshift32 (seed 0 counts as 1): the next 32-bit value on each call. Seeded inputs for tests that must replay. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
