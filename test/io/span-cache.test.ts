import { describe, expect, it } from 'vitest';
import { SpanCache } from '../../src/io/span-cache.js';

const bytes = (offset: number, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff);

describe('SpanCache', () => {
  it('answers reads covered by one or several spans, misses gaps', () => {
    const c = new SpanCache(1000);
    c.put(0, bytes(0, 100));
    c.put(100, bytes(100, 50));
    c.put(300, bytes(300, 10));
    expect(c.get(10, 20)).toEqual(bytes(10, 20));
    expect(c.get(90, 40)).toEqual(bytes(90, 40));
    expect(c.get(140, 20)).toBeUndefined();
    expect(c.get(305, 5)).toEqual(bytes(305, 5));
    expect(c.has(0, 150)).toBe(true);
    expect(c.has(0, 151)).toBe(false);
  });

  it('keeps spans disjoint when they overlap; the newest wins', () => {
    const c = new SpanCache(1000);
    c.put(0, new Uint8Array(100).fill(1));
    c.put(50, new Uint8Array(100).fill(2));
    c.put(20, new Uint8Array(10).fill(3));
    expect(c.bytes).toBe(150);
    const all = c.get(0, 150)!;
    expect(all[0]).toBe(1);
    expect(all[25]).toBe(3);
    expect(all[49]).toBe(1);
    expect(all[50]).toBe(2);
    expect(all[149]).toBe(2);
  });

  it('evicts least recently used spans to stay within the byte bound', () => {
    const c = new SpanCache(300);
    c.put(0, bytes(0, 100));
    c.put(1000, bytes(1000, 100));
    c.put(2000, bytes(2000, 100));
    c.get(0, 10); // touch: 1000 is now the oldest
    c.put(3000, bytes(3000, 100));
    expect(c.bytes).toBeLessThanOrEqual(300);
    expect(c.has(1000, 1)).toBe(false);
    expect(c.has(0, 100)).toBe(true);
    expect(c.has(3000, 100)).toBe(true);
    c.put(5000, bytes(5000, 400)); // larger than the whole budget: not cached
    expect(c.has(5000, 1)).toBe(false);
    expect(c.bytes).toBeLessThanOrEqual(300);
  });

  it('copies views so the budget counts real memory', () => {
    const c = new SpanCache(1000);
    const big = new Uint8Array(10_000);
    c.put(0, big.subarray(0, 10));
    expect(c.bytes).toBe(10);
    const out = c.get(0, 10)!;
    out[0] = 9;
    expect(c.get(0, 1)![0]).toBe(0); // callers get copies
  });
});
