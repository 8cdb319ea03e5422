// Warm re-open in the server (IMAGEBOX_OPEN_CACHE, set by `imagebox serve
// --open-cache`): a server started again (a restart, another instance on the
// same disk) opens a remote slide it opened before with one request to the
// origin; after the slide changed there, it reads it again.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../helpers/origin.js';
import { parseServeArgs } from '../../src/cli/serve.js';
import { UsageError } from '../../src/cli/args.js';
import { FIXTURES, start } from './helpers.js';

describe('a remote slide opened again by a new server with the same open cache', () => {
  let origin: Origin;
  let dir: string;
  const saved = process.env['IMAGEBOX_OPEN_CACHE'];
  beforeAll(async () => {
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), 'imagebox-warm-server-'));
    process.env['IMAGEBOX_OPEN_CACHE'] = dir;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env['IMAGEBOX_OPEN_CACHE'];
    else process.env['IMAGEBOX_OPEN_CACHE'] = saved;
    await origin.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const infoOnce = async (): Promise<{ width: number; requests: number }> => {
    const s = await start({ registry: { config: { slides: { 'x.svs': { url: origin.url('/wsi/x.svs') } } } } });
    try {
      origin.resetCounters();
      const r = await fetch(`${s.url}/iiif/3/x.svs/info.json`);
      expect(r.status, await r.clone().text()).toBe(200);
      const j = (await r.json()) as { width: number };
      return { width: j.width, requests: origin.requests };
    } finally {
      await s.close();
    }
  };

  it('cold, then 1 request per open; a changed slide is read again', async () => {
    origin.put('/wsi/x.svs', new Uint8Array(readFileSync(join(FIXTURES, 'aperio-jpeg.svs'))));
    const cold = await infoOnce();
    console.log(`server: info.json of a remote aperio-jpeg.svs, cold ${cold.requests} origin requests`);
    expect(cold.width).toBe(8000);
    expect(cold.requests).toBeGreaterThan(1);
    expect(readdirSync(dir)).toHaveLength(1);
    const warm = await infoOnce();
    expect(warm).toEqual({ width: 8000, requests: 1 });
    origin.put('/wsi/x.svs', new Uint8Array(readFileSync(join(FIXTURES, 'generic-pyramid-jpeg.tif'))));
    const changed = await infoOnce();
    expect(changed.width).toBe(4096);
    expect(changed.requests).toBeGreaterThan(1);
    expect(await infoOnce()).toEqual({ width: 4096, requests: 1 });
  });

  it('serve --open-cache DIR|off and --open-cache-mb N', () => {
    expect(parseServeArgs([]).openCache).toBeUndefined();
    expect(parseServeArgs(['--open-cache', 'off']).openCache).toBe('off');
    expect(parseServeArgs(['--open-cache', '/var/cache/imagebox', '--open-cache-mb', '64'])).toMatchObject({ openCache: '/var/cache/imagebox', openCacheMb: 64 });
    expect(() => parseServeArgs(['--open-cache-mb', 'lots'])).toThrow(UsageError);
  });
});
