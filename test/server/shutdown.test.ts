// Graceful shutdown as an operator (or Kubernetes) does it: SIGTERM to the
// running `imagebox serve`. New connections are refused at once, streams are
// closed with 1001 (going away) so viewers reconnect elsewhere, a request in
// flight is answered in full (good pixels), and the process exits 0; one that
// outlives --drain-seconds is cut at the deadline, said so, and the exit is
// still prompt.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../src/node/open-slide.js';
import { connectTileStream } from '../../src/stream/client-node.js';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { colourError } from '../helpers/pixels.js';
import { FIXTURES } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const SLIDE = 'aperio-jpeg.svs';

let origin: Origin;
let config: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  origin = await startOrigin();
  origin.put('/wsi/slide.svs', new Uint8Array(readFileSync(`${FIXTURES}/${SLIDE}`)));
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-shutdown-'));
  config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ slides: { 'remote.svs': { url: origin.url('/wsi/slide.svs') } } }));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  origin.faults = {};
  origin.onRequest = undefined;
});
afterAll(async () => origin?.stop());

interface Running {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

async function serve(extra: string[]): Promise<Running> {
  const port = await new Promise<number>((resolve) => {
    const t = createServer().listen(0, '127.0.0.1', () => {
      const p = (t.address() as { port: number }).port;
      t.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--config', config, '--no-iiif-prefetch', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    exited.then(() => reject(new Error(`serve exited: ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, stderr: () => err, exited };
}

/** Resolves when the origin has received a request for the slide's bytes after now. */
function originAsked(): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the origin was not asked for the tile')), 5000);
    origin.onRequest = (e) => {
      if (e.range) {
        clearTimeout(t);
        resolve();
      }
    };
  });
}

describe('SIGTERM: graceful shutdown', () => {
  it('refuses new connections, closes streams with 1001, answers the request in flight in full, exits 0', async () => {
    const s = await serve(['--drain-seconds', '10']);
    expect((await fetch(`${s.url}/iiif/3/remote.svs/info.json`)).status).toBe(200);
    const c = await connectTileStream(s.url.replace(/^http/, 'ws') + '/stream');
    await c.open('remote.svs');
    const streamClosed = new Promise<{ code: number; reason: string }>((resolve) => c.on('close', resolve));

    origin.faults = { delayMs: 1500 }; // the tile's bytes are still on their way when the signal comes
    const asked = originAsked();
    const tile = fetch(`${s.url}/iiif/3/remote.svs/${20 * 256},${15 * 256},256,256/256,256/0/default.jpg`);
    await asked;
    const t0 = Date.now();
    s.child.kill('SIGTERM');

    expect(await streamClosed).toEqual({ code: 1001, reason: 'server shutting down' });
    // no new connections while the drain runs
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${s.url}/health`).then(
      (r) => `status ${r.status}`,
      (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
    );
    expect(refused).toBe('ECONNREFUSED');

    const r = await tile;
    expect(r.status).toBe(200);
    const got = await sharp(new Uint8Array(await r.arrayBuffer())).raw().toBuffer();
    const local = await openSlide(`${FIXTURES}/${SLIDE}`);
    expect(colourError(got, 3, (await local.readTile(0, 20, 15)).data, 4).psnr).toBeGreaterThan(45);
    await local.close();

    const { code, at } = await s.exited;
    expect(code).toBe(0);
    expect(at - t0).toBeLessThan(8000);
    expect(s.stderr()).toMatch(/imagebox: shutting down: 1 stream\(s\) closed, requests in flight get 10 s to finish\n/);
    expect(s.stderr()).toMatch(/imagebox: stopped\n$/);
  });

  it('a request that outlives --drain-seconds is cut at the deadline (said on stderr); the process still exits 0, promptly', async () => {
    const s = await serve(['--drain-seconds', '1']);
    expect((await fetch(`${s.url}/iiif/3/remote.svs/info.json`)).status).toBe(200);
    origin.faults = { delayMs: 6000 };
    const asked = originAsked();
    const tile = fetch(`${s.url}/iiif/3/remote.svs/${25 * 256},${20 * 256},256,256/256,256/0/default.jpg`).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await asked;
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const { code, at } = await s.exited;
    expect(code).toBe(0);
    expect(at - t0).toBeGreaterThanOrEqual(900);
    expect(at - t0).toBeLessThan(4000);
    expect(await tile).toBe('connection closed');
    expect(s.stderr()).toContain('imagebox: stopped (1 request(s) cut at the deadline)');
  });
});
