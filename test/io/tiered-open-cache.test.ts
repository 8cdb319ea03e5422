// The open cache's two levels as one (src/io/open-cache.ts tieredOpenCache): this
// node's disk first, the cluster's Redis on a miss, each allowed to fail alone.
import { describe, expect, it } from 'vitest';
import { MemoryOpenCache, tieredOpenCache, type OpenCacheStore } from '../../src/io/open-cache.js';

const bytes = (n: number) => new Uint8Array([n, n + 1, n + 2]);
const failing: OpenCacheStore = {
  get: () => Promise.reject(new Error('down')),
  set: () => Promise.reject(new Error('down')),
  delete: () => Promise.reject(new Error('down')),
};
/** A store whose writes take `ms` before they land. */
function slowWrites(ms: number): MemoryOpenCache {
  const m = new MemoryOpenCache();
  const set = m.set.bind(m);
  m.set = (k, v) => new Promise((r) => setTimeout(r, ms)).then(() => set(k, v));
  return m;
}

describe('tieredOpenCache', () => {
  it('answers from the near store first, and from the far one on a miss, copying it near', async () => {
    const near = new MemoryOpenCache();
    const far = new MemoryOpenCache();
    await far.set('k', bytes(1));
    await near.set('n', bytes(5));
    const t = tieredOpenCache(near, far);
    expect(await t.get('n')).toEqual(bytes(5));
    expect(await t.get('k')).toEqual(bytes(1));
    await new Promise((r) => setTimeout(r, 0));
    expect(await near.get('k')).toEqual(bytes(1));
    expect(await t.get('missing')).toBeUndefined();
  });

  it('does not wait for the near copy to be written before it answers', async () => {
    const near = slowWrites(200);
    const far = new MemoryOpenCache();
    await far.set('k', bytes(2));
    const t0 = performance.now();
    expect(await tieredOpenCache(near, far).get('k')).toEqual(bytes(2));
    expect(performance.now() - t0).toBeLessThan(150);
    expect(await near.get('k')).toBeUndefined(); // not yet
    await new Promise((r) => setTimeout(r, 300));
    expect(await near.get('k')).toEqual(bytes(2));
  });

  it('writes and deletes go to both; either failing alone leaves the other answering', async () => {
    const near = new MemoryOpenCache();
    const far = new MemoryOpenCache();
    const t = tieredOpenCache(near, far);
    await t.set('k', bytes(3));
    expect(await near.get('k')).toEqual(bytes(3));
    expect(await far.get('k')).toEqual(bytes(3));
    await t.delete('k');
    expect(await near.get('k')).toBeUndefined();
    expect(await far.get('k')).toBeUndefined();
    await far.set('f', bytes(4));
    expect(await tieredOpenCache(failing, far).get('f')).toEqual(bytes(4));
    await near.set('n', bytes(6));
    expect(await tieredOpenCache(near, failing).get('n')).toEqual(bytes(6));
    expect(await tieredOpenCache(near, failing).get('none')).toBeUndefined();
    await expect(tieredOpenCache(failing, failing).set('x', bytes(7))).resolves.toBeUndefined();
    await expect(tieredOpenCache(failing, failing).delete('x')).resolves.toBeUndefined();
  });
});
