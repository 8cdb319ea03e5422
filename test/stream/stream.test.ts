// The WebSocket tile stream with the real client (imagebox/stream over undici's
// WebSocket) against the real server (uWS behind its front door), local files
// and a real HTTP origin on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/codecs/jpeg.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { RGBA } from '../../src/contracts/pixels.js';
import { openSlide } from '../../src/node/open-slide.js';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream, type StreamTile, type TileStream } from '../../src/stream/client-node.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { FIXTURES, start } from '../server/helpers.js';

const wsUrl = (s: StartedServer): string => s.url.replace(/^http/, 'ws') + '/stream';

/** Wait until the server has nothing queued or being prepared for this connection. */
async function settled(s: TileStream): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const st = await s.serverStats();
    if (st['queued'] === 0 && st['preparing'] === 0 && st['outboxBytes'] === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the stream did not settle');
}

async function crop(t: StreamTile): Promise<RGBA> {
  if (t.encoding === 'rgba') return { width: t.width, height: t.height, data: t.data };
  const img = decodeJpeg(await kernels(), t.data);
  const data = new Uint8Array(t.width * t.height * 4);
  for (let y = 0; y < t.height; y++) data.set(img.data.subarray(y * img.width * 4, (y * img.width + t.width) * 4), y * t.width * 4);
  return { width: t.width, height: t.height, data };
}

describe('stream: passthrough sends JPEG tiles as stored and the others decoded', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => s?.close());

  for (const [file, want] of [
    ['aperio-jpeg.svs', 'jpeg'],
    ['generic-lzw-predictor.tif', 'rgba'],
    ['aperio-jp2k-33005.svs', 'rgba'],
  ] as const)
    it(`${file}: tiles come as ${want}, with the pixels of readTile`, async () => {
      const c = await connectTileStream(wsUrl(s), { encodings: ['passthrough'] });
      const local = await openSlide(`${FIXTURES}/${file}`);
      try {
        expect(c.welcome.encoding).toBe('passthrough');
        const slide = await c.open(file);
        const got: StreamTile[] = [];
        c.on('tile', (t) => {
          if (t.level === 0) got.push(t);
        });
        const r = await c.view(slide.handle, { level: 0, x: 0, y: 0, width: 600, height: 500 });
        expect(r.tiles).toBeGreaterThan(0);
        expect(got.length).toBeGreaterThanOrEqual(r.tiles);
        for (const t of got.slice(0, r.tiles)) {
          expect(t.encoding).toBe(want);
          expect(t.transcoded).toBe(false);
          const img = await crop(t);
          const ref = await local.readTile(0, t.col, t.row);
          expect(Buffer.from(img.data).equals(Buffer.from(ref.data)), `pixels of ${t.col},${t.row}`).toBe(true);
        }
      } finally {
        await c.close();
        await local.close();
      }
    });
});

describe('stream: every visible tile arrives, with the pixels of readTile', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => s?.close());

  const cases: [string, string, number, 'rgba' | 'jpeg'][] = [
    ['JPEG (Aperio RGB)', 'aperio-jpeg.svs', 0, 'rgba'],
    ['JPEG, as stored bytes', 'aperio-jpeg.svs', 0, 'jpeg'],
    ['JPEG 2000, 240 px tiles', 'aperio-jp2k-33005.svs', 0, 'rgba'],
    ['LZW + predictor (lossless)', 'generic-lzw-predictor.tif', 0, 'rgba'],
    ['Deflate, 512 px tiles', 'generic-pyramid-bigtiff.tif', 0, 'rgba'],
    ['JPEG, edge tiles smaller than a tile', 'nonmultiple-tiles.tif', 1, 'rgba'],
  ];
  for (const [what, file, level, encoding] of cases)
    it(`${what}: ${file} level ${level} as ${encoding}`, async () => {
      const c = await connectTileStream(wsUrl(s), { encodings: [encoding] });
      const local = await openSlide(`${FIXTURES}/${file}`);
      try {
        expect(c.welcome.encoding).toBe(encoding);
        const slide = await c.open(file);
        expect(slide.levels.map((l) => l.width)).toEqual(local.levels.map((l) => l.width));
        const got = new Map<string, StreamTile>();
        c.on('tile', (t) => {
          if (t.level === level) got.set(`${t.col},${t.row}`, t);
        });
        const l = slide.levels[level]!;
        const view = { level, x: 0, y: 0, width: Math.min(l.width, 1920), height: Math.min(l.height, 1080) };
        const r = await c.view(slide.handle, view);
        const cols = Math.ceil(view.width / l.tileWidth);
        const rows = Math.ceil(view.height / l.tileHeight);
        expect(r.tiles).toBe(cols * rows);
        for (let row = 0; row < rows; row++) {
          for (let col = 0; col < cols; col++) {
            const t = got.get(`${col},${row}`);
            expect(t, `tile ${col},${row}`).toBeDefined();
            expect(t!.encoding).toBe(encoding);
            const want = await local.readTile(level, col, row);
            expect([t!.width, t!.height]).toEqual([want.width, want.height]);
            if (encoding === 'rgba') expect(t!.data.length).toBe(want.width * want.height * 4);
            const img = await crop(t!);
            expect(Buffer.from(img.data).equals(Buffer.from(want.data)), `pixels of ${col},${row}`).toBe(true);
          }
        }
      } finally {
        await c.close();
        await local.close();
      }
    });
});

describe('stream on a remote slide: coalesced reads, prefetch, cancel', () => {
  let origin: Origin;
  let s: StartedServer;
  const ID = 'remote.svs';
  beforeAll(async () => {
    origin = await startOrigin();
    origin.put('/wsi/aperio-jpeg.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
    s = await start({ registry: { config: { slides: { [ID]: { url: origin.url('/wsi/aperio-jpeg.svs') } } } } });
  });
  afterAll(async () => {
    await s?.close();
    await origin?.stop();
  });

  it('the visible tiles of a 1920x1080 view cost far fewer origin requests than tiles', async () => {
    const c = await connectTileStream(wsUrl(s), { encodings: ['jpeg'] });
    try {
      const slide = await c.open(ID);
      origin.resetCounters();
      const r = await c.view(slide.handle, { level: 0, x: 2048, y: 1024, width: 1920, height: 1080 });
      const requests = origin.requests;
      console.log(`1920x1080 view: ${r.tiles} visible tiles in ${requests} origin requests (${(requests / r.tiles).toFixed(3)} per tile)`);
      // one read of the level's offset arrays (12 KB: loaded whole), then one multi-range
      // request per batch of 48 tiles (the visible tiles and the first ring tiles), and at
      // most one more batch of prefetch started before the view completed
      expect(r.tiles).toBeGreaterThanOrEqual(40);
      expect(requests).toBeLessThanOrEqual(4);
    } finally {
      await c.close();
    }
  });

  it('after a view settles, a view moved by one tile along its motion is served entirely from prefetch: 0 origin requests for it', async () => {
    const c = await connectTileStream(wsUrl(s), { encodings: ['jpeg'] });
    const local = await openSlide(`${FIXTURES}/aperio-jpeg.svs`);
    try {
      await local.warmLevel(0);
      const slide = await c.open(ID);
      let x = 1024;
      for (let i = 0; i < 3; i++, x += 256) await c.view(slide.handle, { level: 0, x, y: 2048, width: 1920, height: 1080 }, { vx: 600, vy: 0 });
      await settled(c);
      origin.resetCounters();
      const before = c.stats().tilesReceived;
      const view = { level: 0, x, y: 2048, width: 1920, height: 1080 };
      const r = await c.view(slide.handle, view, { vx: 600, vy: 0 });
      expect(r.superseded).toBe(false);
      expect(r.cached).toBe(true); // every visible tile had been pushed ahead as prefetch
      expect(c.stats().tilesReceived).toBe(before); // nothing new was needed for it
      expect(c.stats().prefetchedUsed).toBeGreaterThan(0);
      // the origin was asked for none of its tiles (the reads it did get are the next ring's prefetch)
      const visible: [number, number][] = [];
      for (let row = Math.floor(view.y / 256); row <= Math.floor((view.y + view.height - 1) / 256); row++) {
        for (let col = Math.floor(view.x / 256); col <= Math.floor((view.x + view.width - 1) / 256); col++) {
          const b = local.tileByteRange(0, col, row)!;
          visible.push([b.offset, b.offset + b.length - 1]);
        }
      }
      const asked = origin.log.flatMap((l) => (l.range ?? '').replace('bytes=', '').split(',').filter(Boolean).map((p) => p.split('-').map(Number) as [number, number]));
      const overlapping = asked.filter(([a, b]) => visible.some(([v0, v1]) => a <= v1 && b >= v0));
      expect(visible.length).toBe(r.tiles);
      expect(overlapping).toEqual([]);
    } finally {
      await c.close();
      await local.close();
    }
  });

  it('cancel: after a fast pan, tiles of the abandoned view stop arriving', async () => {
    origin.faults = { delayMs: 150 };
    const c = await connectTileStream(wsUrl(s), { encodings: ['jpeg'] });
    try {
      const slide = await c.open(ID);
      const arrived: (StreamTile & { afterB: boolean })[] = [];
      let bSent = false;
      c.on('tile', (t) => arrived.push({ ...t, afterB: bSent }));
      // A: columns 0-4, rows 16-19, not read by any test before
      const a = c.view(slide.handle, { level: 0, x: 0, y: 4096, width: 1280, height: 1024 });
      await new Promise((r) => setTimeout(r, 20)); // A's reads are at the (slow) origin
      bSent = true;
      const b = await c.view(slide.handle, { level: 0, x: 6400, y: 4608, width: 1280, height: 768 }); // columns 25-29
      expect((await a).superseded).toBe(true);
      expect(b.superseded).toBe(false);
      const ofA = arrived.filter((t) => t.afterB && t.level === 0 && t.col <= 6 && t.row >= 15 && t.row <= 20);
      expect(ofA.length).toBe(0); // read, but dropped before sending: they had left the view
      expect(arrived.filter((t) => t.level === 0 && t.col >= 25 && t.row >= 18).length).toBeGreaterThanOrEqual(b.tiles);
      const st = await c.serverStats();
      expect(Number(st['cancelled'])).toBeGreaterThan(0);
    } finally {
      origin.faults = {};
      await c.close();
    }
  });

  it('plain IIIF clients: the neighbours of a tile they asked for are read ahead (the next one costs no request)', async () => {
    const base = `${s.url}/iiif/3/${ID}`;
    expect((await fetch(`${base}/0,0,256,256/256,256/0/default.jpg`)).status).toBe(200); // the level's arrays load
    await new Promise((r) => setTimeout(r, 100));
    // a viewer asks for tiles side by side: the third has two neighbours asked for, and its neighbours are read ahead
    for (const [x, y] of [[2304, 2304], [2560, 2304], [2560, 2560]]) {
      expect((await fetch(`${base}/${x},${y},256,256/256,256/0/default.jpg`)).status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 200)); // the background reads
    origin.resetCounters();
    for (const [x, y] of [[2816, 2560], [2304, 2816], [2816, 2816]]) {
      const r = await fetch(`${base}/${x},${y},256,256/256,256/0/default.jpg`);
      expect(r.status).toBe(200);
    }
    expect(origin.requests).toBe(0);
  });

  it('plain IIIF clients: tiles asked for far apart (random access) get no read-ahead: one origin request each', async () => {
    const fresh = await start({ registry: { config: { slides: { [ID]: { url: origin.url('/wsi/aperio-jpeg.svs') } } } } });
    try {
      const base = `${fresh.url}/iiif/3/${ID}`;
      expect((await fetch(`${base}/0,256,256,256/256,256/0/default.jpg`)).status).toBe(200); // the level's arrays load
      await new Promise((r) => setTimeout(r, 200));
      origin.resetCounters();
      const far = [[5120, 512], [1024, 4608], [7424, 3072], [3584, 5632], [6656, 1536]];
      for (const [x, y] of far) expect((await fetch(`${base}/${x},${y},256,256/256,256/0/default.jpg`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200)); // a read-ahead would have gone out by now
      expect(origin.requests).toBe(far.length);
    } finally {
      await fresh.close();
    }
  });
});

describe('stream: metrics', () => {
  it('/metrics reports pushed tiles by encoding and reason, prefetch used and wasted, bytes', async () => {
    const s = await start();
    try {
      const c = await connectTileStream(wsUrl(s), { encodings: ['jpeg'] });
      const slide = await c.open('aperio-jpeg.svs');
      await c.view(slide.handle, { level: 0, x: 0, y: 0, width: 1024, height: 768 }, { vx: 500, vy: 0 });
      await settled(c);
      await c.view(slide.handle, { level: 0, x: 256, y: 0, width: 1024, height: 768 }, { vx: 500, vy: 0 });
      await settled(c);
      const m = await (await fetch(`${s.url}/metrics`)).text();
      expect(m).toMatch(/imagebox_stream_connections 1/);
      expect(m).toMatch(/imagebox_stream_tiles_total\{encoding="jpeg",reason="visible"\} 12/);
      expect(m).toMatch(/imagebox_stream_tiles_total\{encoding="jpeg",reason="prefetch"\} [1-9]\d*/);
      expect(m).toMatch(/imagebox_stream_prefetch_total\{result="used"\} [1-9]/);
      expect(m).toMatch(/imagebox_stream_bytes_total [1-9]\d*/);
      c.closeSlide(slide.handle);
      await new Promise((r) => setTimeout(r, 50));
      expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/imagebox_stream_prefetch_total\{result="wasted"\} [1-9]/);
      await c.close();
    } finally {
      await s.close();
    }
  });
});

describe('stream: a Ventana BIF with overlapping tiles (no stored tile is a tile of the level)', () => {
  const DIR = new URL('../fixtures/vendors/', import.meta.url).pathname;
  let s: StartedServer;
  beforeAll(async () => {
    s = await start({ registry: { slidesDir: DIR } });
  });
  afterAll(async () => s?.close());

  it('asked for passthrough, every level-0 tile is painted (not missing, not the stored bytes), with the pixels of readTile', async () => {
    const c = await connectTileStream(wsUrl(s), { encodings: ['passthrough'] });
    const local = await openSlide(`${DIR}ventana-overlap.bif`);
    try {
      const slide = await c.open('ventana-overlap.bif');
      const got: StreamTile[] = [];
      c.on('tile', (t) => {
        if (t.level === 0) got.push(t);
      });
      const r = await c.view(slide.handle, { level: 0, x: 200, y: 200, width: 600, height: 500 });
      expect(r.tiles).toBeGreaterThanOrEqual(4);
      await settled(c);
      expect(got.length).toBeGreaterThanOrEqual(r.tiles);
      for (const t of got.slice(0, r.tiles)) {
        expect([t.col, t.row, t.missing, t.transcoded]).toEqual([t.col, t.row, false, true]); // painted: never the stored bytes
        const ref = await local.readTile(0, t.col, t.row);
        const img = await crop(t);
        expect([img.width, img.height]).toEqual([ref.width, ref.height]);
        if (t.encoding === 'rgba') expect(Buffer.from(img.data).equals(Buffer.from(ref.data)), `pixels of ${t.col},${t.row}`).toBe(true);
      }
    } finally {
      await c.close();
    }
  });
});

describe('stream: a fast pan does not leave the workers decoding what left the view', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await start({ pixels: { size: 1, perWorker: 1 } });
  });
  afterAll(async () => s?.close());

  it('RGBA decodes of a view replaced before their turn are skipped; the new view arrives whole, with the pixels of readTile', async () => {
    const c = await connectTileStream(wsUrl(s), { encodings: ['rgba'] });
    try {
      const slide = await c.open('aperio-jpeg.svs');
      const fair = s.box.stream.fair;
      const started0 = fair.started;
      const skipped0 = fair.skipped;
      // a big view of level 0 (about 60 tiles to decode), replaced at once by one far away
      const first = c.view(slide.handle, { level: 0, x: 0, y: 0, width: 2560, height: 1440 }).catch(() => undefined);
      const got = new Map<string, StreamTile>();
      c.on('tile', (t) => {
        if (t.level === 0 && t.col >= 20 && t.row >= 16) got.set(`${t.col},${t.row}`, t);
      });
      const r = await c.view(slide.handle, { level: 0, x: 20 * 256, y: 16 * 256, width: 512, height: 512 });
      void first;
      await settled(c);
      expect(r.tiles).toBe(4);
      for (const k of ['20,16', '21,16', '20,17', '21,17']) expect(got.has(k), k).toBe(true);
      const aperio = await openSlide(`${FIXTURES}/aperio-jpeg.svs`);
      const t = got.get('20,16')!;
      expect(Buffer.from(t.data).equals(Buffer.from((await aperio.readTile(0, 20, 16)).data))).toBe(true);
      await aperio.close();
      const skipped = fair.skipped - skipped0;
      const started = fair.started - started0;
      console.log(`fast pan: ${started} decodes run, ${skipped} skipped (their tiles had left the view)`);
      expect(skipped).toBeGreaterThan(10);
      expect(started).toBeLessThan(60);
    } finally {
      await c.close();
    }
  });
});
