// The bounds an operator can move (serve --limit NAME=N, --origin-connections):
// pixels one answer may decode, output size, stream connections and message
// sizes, connections per origin. Each refused request gets its exact status
// and code, and the server then still serves a good tile.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/cli/serve.js';
import { UsageError } from '../../src/cli/args.js';
import { openSlide } from '../../src/node/open-slide.js';
import { DEFAULT_LIMITS } from '../../src/server/iiif/plan.js';
import type { StartedServer } from '../../src/server/serve.js';
import { connectTileStream, type TileStream } from '../../src/stream/client-node.js';
import { MessageType, PROTOCOL, decodeServerMessage, encodeClientMessage } from '../../src/stream/protocol.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { colourError } from '../helpers/pixels.js';
import { RawWebSocket } from '../helpers/raw-ws.js';
import { FIXTURES, start } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const SLIDE = 'aperio-jpeg.svs'; // 8000 x 6000, levels at 1, 4, 16; 256 px JPEG tiles

async function errorOf(r: Response): Promise<{ status: number; code: string }> {
  return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
}

/** The first level-0 tile, through IIIF, against the file's own. */
async function expectGoodTile(base: string, id = SLIDE): Promise<void> {
  const r = await fetch(`${base}/iiif/3/${encodeURIComponent(id)}/0,0,256,256/256,256/0/default.jpg`);
  expect(r.status).toBe(200);
  const got = await sharp(new Uint8Array(await r.arrayBuffer())).raw().toBuffer();
  const local = await openSlide(`${FIXTURES}/${SLIDE}`);
  try {
    expect(colourError(got, 3, (await local.readTile(0, 0, 0)).data, 4).psnr).toBeGreaterThan(45);
  } finally {
    await local.close();
  }
}

describe('serve --limit: parsed, each bounded', () => {
  it('known names with integers in range go where they bound; anything else is a usage error', () => {
    const a = parseServeArgs(['--limit', 'maxSourcePixels=1000000', '--limit', 'maxArea=4000000', '--limit', 'streamConnections=3', '--limit', 'streamMessageBytes=2048', '--limit', 'streamInFlightBytes=1048576']);
    expect(a.limits).toEqual({ iiif: { maxSourcePixels: 1_000_000, maxArea: 4_000_000 }, stream: { maxMessageBytes: 2048 }, streamConnections: 3, streamInFlightBytes: 1_048_576 });
    expect(parseServeArgs([]).limits).toEqual({ iiif: {}, stream: {} });
    for (const bad of ['maxArea', 'maxArea=', 'maxArea=-1', 'maxArea=1e9', 'maxArea=0', 'nope=1', 'streamConnections=0', 'streamMessageBytes=99999999', 'maxWidth=Infinity']) {
      expect(() => parseServeArgs(['--limit', bad]), bad).toThrow(UsageError);
    }
  });
});

describe('limits on a running server', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await start({ limits: { ...DEFAULT_LIMITS, maxArea: 2000 * 2000, maxSourcePixels: 4_000_000 }, maxStreamConnections: 3, session: { limits: { maxMessageBytes: 1024 } } });
  });
  afterAll(async () => s?.close());

  it('pixels one answer may decode: a small output of a region too large for the nearest level is 413 E_TOO_LARGE (IIIF and DeepZoom), then a good tile', async () => {
    // 4000 x 4000 of level 0 at 1000 px: level 1 (1000 x 1000 decoded) is fine; at 2000 px, level 0: 16 Mpx
    expect((await fetch(`${s.url}/iiif/3/${SLIDE}/0,0,4000,4000/1000,/0/default.jpg`)).status).toBe(200);
    expect(await errorOf(await fetch(`${s.url}/iiif/3/${SLIDE}/0,0,4000,4000/2000,/0/default.jpg`))).toEqual({ status: 413, code: 'E_TOO_LARGE' });
    // DeepZoom level 12 (of 13) is level 0 at half size: a 256 px tile decodes 512 x 512, fine
    expect((await fetch(`${s.url}/dzi/${SLIDE}_files/12/0_0.jpeg`)).status).toBe(200);
    await expectGoodTile(s.url);
  });

  it('output pixels over maxArea: 400 E_BAD_REQUEST (IIIF: a size the server does not offer), and info.json says maxArea', async () => {
    expect(await errorOf(await fetch(`${s.url}/iiif/3/${SLIDE}/0,0,4000,4000/2001,2001/0/default.jpg`))).toEqual({ status: 400, code: 'E_BAD_REQUEST' });
    expect(((await (await fetch(`${s.url}/iiif/3/${SLIDE}/info.json`)).json()) as { maxArea: number }).maxArea).toBe(4_000_000);
    await expectGoodTile(s.url);
  });

  it('stream connections: the 4th of 3 allowed gets 503 E_BUSY with Retry-After before the upgrade; when one closes, a new one is served', async () => {
    const ws = s.url.replace(/^http/, 'ws') + '/stream';
    const open: TileStream[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await connectTileStream(ws));
      const refused = await RawWebSocket.open(s.port).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(refused).toBe('no upgrade: HTTP/1.1 503 Service Unavailable');
      const r = await fetch(`${s.url}/metrics`);
      expect(await r.text()).toMatch(/imagebox_stream_connections 3\b/);
      await open.shift()!.close();
      for (let i = 0; i < 50 && (await (await fetch(`${s.url}/metrics`)).text()).match(/imagebox_stream_connections 3\b/); i++) await new Promise((r) => setTimeout(r, 20));
      const c = await connectTileStream(ws);
      open.push(c);
      const slide = await c.open(SLIDE);
      expect((await c.view(slide.handle, { level: 0, x: 0, y: 0, width: 256, height: 256 })).tiles).toBe(1);
    } finally {
      for (const c of open) await c.close();
    }
  });

  it('stream message size: a message over streamMessageBytes gets an E_TOO_LARGE error frame and the connection goes on; one over the frame limit (1 MiB) is dropped before it is buffered (uWS closes the socket: 1006 at the client)', async () => {
    const ws = await RawWebSocket.open(s.port);
    ws.send(encodeClientMessage({ type: MessageType.Hello, protocol: PROTOCOL, encodings: ['rgba'] }));
    ws.send(new Uint8Array(2000));
    const errorCodes = (): string[] =>
      ws.frames.filter((f) => f.opcode === 2).map((f) => decodeServerMessage(new Uint8Array(f.payload))).flatMap((m) => (m.type === MessageType.Error ? [m.code] : []));
    expect(await ws.until(() => errorCodes().length > 0)).toBe(true);
    expect(errorCodes()).toEqual(['E_TOO_LARGE']);
    ws.send(encodeClientMessage({ type: MessageType.Open, requestId: 1, slide: SLIDE }));
    expect(await ws.until((f) => f.some((x) => x.opcode === 2 && decodeServerMessage(new Uint8Array(x.payload)).type === MessageType.Slide))).toBe(true);
    ws.destroy();
    const big = await RawWebSocket.open(s.port);
    big.send(new Uint8Array(1024 * 1024 + 1));
    await big.until(() => false, 5000);
    expect(big.closed).toBe(true);
    expect(big.frames).toEqual([]);
    big.destroy();
    await expectGoodTile(s.url);
  });
});

describe('connections per origin (--origin-connections): a bound on concurrent requests to one origin, per thread', () => {
  let origin: Origin;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    origin = await startOrigin();
    origin.put('/wsi/slide.svs', new Uint8Array(readFileSync(`${FIXTURES}/${SLIDE}`)));
    dir = mkdtempSync(join(tmpdir(), 'imagebox-limits-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ slides: { 'remote.svs': { url: origin.url('/wsi/slide.svs') } } }));
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });
  afterAll(async () => origin?.stop());

  async function serve(extra: string[]): Promise<string> {
    const port = await new Promise<number>((resolve) => {
      const t = createServer().listen(0, '127.0.0.1', () => {
        const p = (t.address() as { port: number }).port;
        t.close(() => resolve(p));
      });
    });
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--config', join(dir, 'config.json'), '--no-iiif-prefetch', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    return `http://127.0.0.1:${port}`;
  }

  /** 40 distinct level-0 tiles at once against an origin answering after 40 ms: the most requests it had at once. */
  async function burst(url: string): Promise<number> {
    expect((await fetch(`${url}/iiif/3/remote.svs/info.json`)).status).toBe(200);
    origin.faults = { delayMs: 40 };
    origin.resetCounters();
    try {
      const tiles = Array.from({ length: 40 }, (_, i) => `${url}/iiif/3/remote.svs/${(i % 20) * 256 * 1},${Math.floor(i / 20) * 256 * 10},256,256/256,256/0/default.jpg`);
      const statuses = await Promise.all(tiles.map(async (t) => (await fetch(t)).status));
      expect(statuses.every((x) => x === 200)).toBe(true);
      return origin.maxInFlight;
    } finally {
      origin.faults = {};
    }
  }

  it('--origin-connections 2: at most 2 per thread holding a transport (the server and its one pixel worker: 4), where 64 lets the burst through; every tile served', async () => {
    const wide = await burst(await serve([]));
    const narrow = await burst(await serve(['--origin-connections', '2']));
    console.log(`most requests at once at the origin: ${wide} with the default 64 connections, ${narrow} with --origin-connections 2`);
    expect(narrow).toBeLessThanOrEqual(4);
    expect(wide).toBeGreaterThan(4);
  });

  it('the same bounds from the command line: --limit maxSourcePixels and streamConnections reach the running server', async () => {
    const url = await serve(['--limit', 'maxSourcePixels=4000000', '--limit', 'streamConnections=1']);
    expect(await errorOf(await fetch(`${url}/iiif/3/remote.svs/0,0,4000,4000/2000,/0/default.jpg`))).toEqual({ status: 413, code: 'E_TOO_LARGE' });
    const c = await connectTileStream(url.replace(/^http/, 'ws') + '/stream');
    try {
      await expect(connectTileStream(url.replace(/^http/, 'ws') + '/stream')).rejects.toThrow();
    } finally {
      await c.close();
    }
    await expectGoodTile(url, 'remote.svs');
  });
});
