// Warm re-open (src/io/open-cache.ts), counted at a real origin: a cold open of
// aperio-jpeg.svs over HTTP keeps what it read in a disk store; a later open of
// the unchanged slide, with a fresh HttpSource, in this process or in another
// one, costs exactly one request and gives the same slide; a changed slide (new
// ETag) is read again and its entry replaced; a corrupt entry is never trusted;
// the store stays under its bounds.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openByteSource } from '../../src/io/open-source-node.js';
import { decodeOpenEntry, encodeOpenEntry, MemoryOpenCache, openCacheKey } from '../../src/io/open-cache.js';
import { DiskOpenCache } from '../../src/node/open-cache-disk.js';
import { openSlide } from '../../src/slide/open-slide.js';
import type { Slide } from '../../src/slide/slide.js';
import { fixturePath } from '../helpers/fixtures.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { bigTiledSlide } from '../helpers/tiff-builder.js';
import { bundle, ROOT } from '../server/helpers.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function describeSlide(slide: Slide): Promise<{ levels: unknown; properties: unknown; tile: string }> {
  const l = slide.levels[0]!;
  const t = await slide.tile(0, Math.floor(l.cols / 2), Math.floor(l.rows / 2));
  return { levels: slide.levels, properties: slide.properties, tile: sha(t.bytes) };
}

describe('warm re-open over HTTP', () => {
  let origin: Origin;
  let dir: string;
  const svs = readFileSync(fixturePath('aperio-jpeg.svs'));
  let cold: { levels: unknown; properties: unknown; tile: string };
  let coldRequests = 0;

  beforeAll(async () => {
    origin = await startOrigin();
    origin.put('/slide.svs', svs);
    dir = mkdtempSync(join(tmpdir(), 'imagebox-warm-'));
  });
  afterAll(async () => {
    await origin.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (store = new DiskOpenCache(dir)) => openSlide(openByteSource(origin.url('/slide.svs')), { backgroundWarm: false, openCache: store });

  it('a cold open reads as today and keeps what it read (one entry, mode 0600 in a 0700 directory)', async () => {
    origin.resetCounters();
    const slide = await open();
    coldRequests = origin.requests;
    console.log(`aperio-jpeg.svs over HTTP: cold open ${coldRequests} requests, ${origin.bytesSent} bytes`);
    expect(coldRequests).toBeGreaterThan(1);
    // the head is read while the store is asked: with nothing in the store, no request more than with no store at all
    origin.resetCounters();
    const plain = await openSlide(openByteSource(origin.url('/slide.svs')), { backgroundWarm: false });
    expect(origin.requests).toBe(coldRequests);
    await plain.close();
    cold = await describeSlide(slide);
    await slide.close();
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.ibopen$/); // the key hashed: no URL in a file name
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    // no credentials, no query in what is kept: the source id only
    expect(readFileSync(join(dir, files[0]!)).toString('latin1')).toContain(origin.url('/slide.svs'));
  });

  it('a second open in this process, with a fresh HttpSource, costs exactly 1 request and gives the same slide', async () => {
    origin.resetCounters();
    const slide = await open();
    console.log(`aperio-jpeg.svs over HTTP: warm open ${origin.requests} request, ${origin.bytesSent} bytes`);
    expect(origin.requests).toBe(1);
    // the one request is the cold open's own first read (the head), without a validator to send
    expect(origin.log[0]!.range).toBe('bytes=0-65535');
    expect(await describeSlide(slide)).toEqual(cold);
    await slide.close();
  });

  it('an open in another process with the same cache directory costs exactly 1 request and gives the same slide', async () => {
    const child = await bundle(`${ROOT}test/slide/warm-reopen-child.ts`, 'warm-reopen-child');
    const l = (cold.levels as { cols: number; rows: number }[])[0]!;
    origin.resetCounters();
    const p = spawn(process.execPath, [child.pathname, origin.url('/slide.svs'), dir, String(Math.floor(l.cols / 2)), String(Math.floor(l.rows / 2))], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
    const opened = JSON.parse((await lines.next()).value as string) as { levels: unknown; properties: unknown };
    expect(origin.requests).toBe(1);
    expect(opened).toEqual({ levels: cold.levels, properties: cold.properties });
    p.stdin!.write('tile\n');
    expect((await lines.next()).value).toBe(cold.tile);
    await new Promise((resolve) => p.once('exit', resolve));
  });

  it('after the slide changed on the origin (new ETag), the next open reads it again, shows the new content, and replaces the entry', async () => {
    // the same path, other bytes: a BigTIFF pyramid instead of the SVS
    const other = readFileSync(fixturePath('generic-pyramid-bigtiff.tif'));
    origin.put('/slide.svs', other);
    origin.resetCounters();
    const slide = await open();
    expect(origin.requests).toBeGreaterThan(1);
    const fresh = await openSlide(openByteSource(origin.url('/slide.svs')), { backgroundWarm: false });
    const now = await describeSlide(slide);
    expect(now).toEqual(await describeSlide(fresh));
    expect(now.levels).not.toEqual(cold.levels);
    await slide.close();
    await fresh.close();
    expect(readdirSync(dir)).toHaveLength(1);
    // the replaced entry is warm in turn
    origin.resetCounters();
    const again = await open();
    expect(origin.requests).toBe(1);
    expect(await describeSlide(again)).toEqual(now);
    await again.close();
    origin.put('/slide.svs', svs);
  });

  it('an origin whose ETag stayed while its bytes changed: the head read to validate differs from the entry\'s, so the open is cold', async () => {
    const s = await open(); // warm
    await s.close();
    const file = origin.files.get('/slide.svs')!;
    const at = Buffer.from(file.data).indexOf('Aperio Image Library');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(65536);
    const edited = new Uint8Array(file.data);
    edited[at + 'Aperio Image Librar'.length] = 'z'.charCodeAt(0);
    file.data = edited; // same ETag, same Last-Modified, same size: only the bytes differ
    try {
      origin.resetCounters();
      const slide = await open();
      expect(origin.requests).toBe(coldRequests);
      expect(slide.properties['tiff.ImageDescription']).toContain('Aperio Image Librarz');
      await slide.close();
    } finally {
      origin.put('/slide.svs', svs);
    }
  });

  it('a corrupt or truncated entry is ignored (a cold open), deleted and replaced', async () => {
    const s = await open(); // cold: the SVS again
    await s.close();
    const file = join(dir, readdirSync(dir)[0]!);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
    for (const bad of [flipped, good.subarray(0, good.length - 100), Buffer.from('garbage'), Buffer.alloc(0)]) {
      writeFileSync(file, bad);
      origin.resetCounters();
      const slide = await open();
      expect(origin.requests).toBe(coldRequests);
      expect(await describeSlide(slide)).toEqual(cold);
      await slide.close();
      expect(readFileSync(file).equals(good)).toBe(true);
    }
    origin.resetCounters();
    const warm = await open();
    expect(origin.requests).toBe(1);
    await warm.close();
  });

  it('an origin with Last-Modified only (no ETag) is validated by it', async () => {
    const store = new MemoryOpenCache();
    origin.put('/lm.svs', svs);
    origin.faults = { noEtag: true };
    try {
      const url = origin.url('/lm.svs');
      await (await openSlide(openByteSource(url), { backgroundWarm: false, openCache: store })).close();
      origin.resetCounters();
      const warm = await openSlide(openByteSource(url), { backgroundWarm: false, openCache: store });
      expect(origin.requests).toBe(1);
      await warm.close();
    } finally {
      origin.faults = {};
    }
  });

  it('a store that holds another key\'s bytes under this key is not trusted', () => {
    const e = encodeOpenEntry({ id: 'http://a/x', validator: '"1"', size: 10, spans: [{ offset: 0, data: new Uint8Array([1, 2, 3]) }] });
    expect(decodeOpenEntry(e, 'http://a/x')?.spans[0]!.data).toEqual(new Uint8Array([1, 2, 3]));
    expect(decodeOpenEntry(e, 'http://a/y')).toBeUndefined();
    expect(openCacheKey('http://a/x')).not.toBe(openCacheKey('http://a/y'));
    // a span past the size it claims
    const past = encodeOpenEntry({ id: 'i', validator: 'v', size: 2, spans: [{ offset: 0, data: new Uint8Array(3) }] });
    expect(decodeOpenEntry(past, 'i')).toBeUndefined();
  });

  it('a level\'s offset arrays, once loaded, join the entry: after a warm open its tiles cost exactly 1 request each', async () => {
    const store = new MemoryOpenCache();
    const { bytes } = bigTiledSlide(100_000, 60_000, 256); // 2 x 368 KB of arrays, not read by open
    origin.put('/arrays.tif', bytes);
    const url = origin.url('/arrays.tif');
    const key = openCacheKey(url);
    const cold = await openSlide(openByteSource(url), { backgroundWarm: false, openCache: store });
    const entryAfterOpen = (await store.get(key))!.length;
    origin.resetCounters();
    await cold.tile(0, 17, 10);
    expect(origin.requests).toBe(2); // offset blocks, then the tile
    await cold.warmLevel(0);
    await vi.waitFor(async () => expect((await store.get(key))!.length).toBeGreaterThan(Math.max(entryAfterOpen, 2 * 367_540)));
    await cold.close();
    origin.resetCounters();
    const warm = await openSlide(openByteSource(url), { backgroundWarm: false, openCache: store });
    expect(origin.requests).toBe(1);
    expect(warm.levelResident(0)).toBe(false); // the arrays are bytes in the span cache, parsed on use
    for (const [c, r] of [
      [0, 0],
      [17, 10],
      [100, 50],
    ] as const) {
      const before = origin.requests;
      const t = await warm.tile(0, c, r);
      expect(new DataView(t.bytes.buffer, t.bytes.byteOffset, 4).getUint32(0, true)).toBe(r * 391 + c);
      expect(origin.requests - before).toBe(1);
    }
    await warm.close();
  });

  it('the store stays under its byte bound (least recently used out first) and refuses entries over the per-entry cap', async () => {
    const small = mkdtempSync(join(tmpdir(), 'imagebox-warm-bound-'));
    try {
      const { bytes } = bigTiledSlide(20_000, 20_000, 256);
      const urls = Array.from({ length: 6 }, (_, i) => {
        origin.put(`/big${i}.tif`, bytes);
        return origin.url(`/big${i}.tif`);
      });
      const entryFile = (url: string): string => join(small, `${sha(new TextEncoder().encode(openCacheKey(url)))}.ibopen`);
      const openWith = async (url: string, store: DiskOpenCache): Promise<void> => (await openSlide(openByteSource(url), { backgroundWarm: false, openCache: store })).close();
      await openWith(urls[0]!, new DiskOpenCache(small));
      const entryBytes = statSync(entryFile(urls[0]!)).size;
      const maxBytes = Math.floor(2.5 * entryBytes);
      const store = new DiskOpenCache(small, { maxBytes });
      for (const url of urls.slice(1)) {
        await new Promise((r) => setTimeout(r, 15)); // distinct mtimes: recency
        await openWith(url, store);
        expect(await store.bytes()).toBeLessThanOrEqual(maxBytes);
      }
      // the two most recent are kept, the older ones went
      expect(urls.map((u) => existsSync(entryFile(u)))).toEqual([false, false, false, false, true, true]);
      origin.resetCounters();
      await openWith(urls[5]!, store);
      expect(origin.requests).toBe(1);
      // over the per-entry cap: not kept
      await openWith(urls[0]!, new DiskOpenCache(small, { maxEntryBytes: entryBytes - 1 }));
      expect(existsSync(entryFile(urls[0]!))).toBe(false);
    } finally {
      rmSync(small, { recursive: true, force: true });
    }
  });
});
