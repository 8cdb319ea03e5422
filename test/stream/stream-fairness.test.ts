// Sharing between connections and links: a greedy viewer does not starve a
// modest one; 'auto' sends RGBA on a fast link and JPEG once the link shows it
// is slow; the package export imagebox/stream works from plain Node.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream } from '../../src/stream/client-node.js';
import { startThrottle } from '../helpers/throttle.js';
import { ROOT, start } from '../server/helpers.js';

let s: StartedServer;
const wsUrl = (port = s.port): string => `ws://127.0.0.1:${port}/stream`;
beforeAll(async () => {
  s = await start();
});
afterAll(async () => s?.close());

describe('fairness', () => {
  it('while a greedy client decodes all of level 0, a modest one\'s small view completes promptly', async () => {
    const greedy = await connectTileStream(wsUrl(), { encodings: ['rgba'], inFlightBytes: 32 * 1024 * 1024 });
    const modest = await connectTileStream(wsUrl(), { encodings: ['rgba'] });
    try {
      const g = await greedy.open('aperio-jpeg.svs');
      const m = await modest.open('generic-pyramid-jpeg.tif');
      let greedyTiles = 0;
      greedy.on('tile', () => greedyTiles++);
      const big = greedy.view(g.handle, { level: 0, x: 0, y: 0, width: 8000, height: 6000 }); // 744 decodes
      // wait until the greedy client has a full queue of decodes (two batches of 48 read)
      for (let i = 0; i < 200 && greedyTiles < 8; i++) await new Promise((r) => setTimeout(r, 10));
      const before = greedyTiles;
      const small = await modest.view(m.handle, { level: 3, x: 0, y: 0, width: 512, height: 384 }); // 4 decodes
      const between = greedyTiles - before;
      const bigDone = await Promise.race([big.then(() => true), new Promise((r) => setTimeout(() => r(false), 0))]);
      console.log(`modest view (${small.tiles} tiles) done after ${between} more greedy tiles; the greedy one ${bigDone ? 'had finished' : 'was still decoding'}`);
      expect(small.tiles).toBe(4);
      expect(bigDone).toBe(false); // it really overlapped
      // round-robin: its 4 decodes go between the greedy one's. The greedy client meanwhile
      // receives the decodes already running and frames already in its socket (measured
      // 17-28); first come, first served would make the modest one wait for the ~124
      // decodes the greedy one's 32 MiB budget keeps queued
      expect(between).toBeLessThanOrEqual(60);
      await big;
    } finally {
      await greedy.close();
      await modest.close();
    }
  });
});

describe("encoding 'auto'", () => {
  it('RGBA on a fast link; JPEG once a slow link (8 MB/s) shows its drain rate', async () => {
    const fast = await connectTileStream(wsUrl(), { encodings: ['auto'] });
    try {
      const a = await fast.open('aperio-jpeg.svs');
      const seen = new Set<string>();
      fast.on('tile', (t) => seen.add(t.encoding));
      await fast.view(a.handle, { level: 0, x: 0, y: 0, width: 1920, height: 1080 });
      expect([...seen]).toEqual(['rgba']);
    } finally {
      await fast.close();
    }
    const throttle = await startThrottle(s.port, 8 * 1024 * 1024);
    const slow = await connectTileStream(wsUrl(throttle.port), { encodings: ['auto'] });
    try {
      const a = await slow.open('aperio-jpeg.svs');
      const order: string[] = [];
      slow.on('tile', (t) => order.push(t.encoding));
      await slow.view(a.handle, { level: 0, x: 0, y: 1024, width: 4096, height: 2048 }); // 128 tiles: 32 MiB as RGBA
      const st = await slow.serverStats();
      console.log(`slow link: ${order.filter((e) => e === 'rgba').length} RGBA tiles, then ${order.filter((e) => e === 'jpeg').length} JPEG; drain ${(Number(st['drainRateBytesPerSecond']) / 2 ** 20).toFixed(1)} MiB/s`);
      expect(st['encoding']).toBe('auto:jpeg');
      expect(order[0]).toBe('rgba');
      expect(order[order.length - 1]).toBe('jpeg');
      expect(order.filter((e) => e === 'jpeg').length).toBeGreaterThan(order.length / 2);
    } finally {
      await slow.close();
      await throttle.close();
    }
  });
});

describe('imagebox/stream', () => {
  it('is a package export that plain Node imports (undici WebSocket), and it speaks to the server', async () => {
    const run = promisify(execFile);
    const script = `import { connectTileStream } from 'imagebox/stream';
const s = await connectTileStream('${wsUrl()}', { encodings: ['jpeg'] });
const slide = await s.open('aperio-jpeg.svs');
const r = await s.view(slide.handle, { level: 2, x: 0, y: 0, width: 500, height: 375 });
console.log(JSON.stringify({ tiles: r.tiles, received: s.stats().tilesReceived }));
await s.close();`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    const out = JSON.parse(stdout.trim());
    expect(out.tiles).toBe(4);
    expect(out.received).toBeGreaterThanOrEqual(4);
  });
});
