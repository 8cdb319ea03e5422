// Units: the byte-bounded LRU, single flight, the fetch(Request) adapter.
import { describe, expect, it } from 'vitest';
import { ImageboxError } from '../../src/errors.js';
import { createImagebox } from '../../src/server/app.js';
import { ByteLru, SingleFlight } from '../../src/server/cache.js';
import { fetchHandler } from '../../src/server/fetch.js';
import { etagMatches } from '../../src/server/handlers/types.js';
import { FIXTURES } from './helpers.js';

const entry = (n: number) => ({ body: new Uint8Array(n) });

describe('ByteLru', () => {
  it('evicts least recently used entries past the byte bound', () => {
    const c = new ByteLru<{ body: Uint8Array }>(300, 200);
    c.set('a', entry(100));
    c.set('b', entry(100));
    c.get('a');
    c.set('c', entry(100)); // 300 + keys > 300: b goes
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    c.set('big', entry(250)); // over the per-entry bound: not kept
    expect(c.get('big')).toBeUndefined();
    expect(c.byteSize).toBeLessThanOrEqual(300);
  });
});

describe('SingleFlight', () => {
  it('joins identical work and aborts it only when every waiter left', async () => {
    const f = new SingleFlight<number>();
    let runs = 0;
    let aborted = false;
    let release!: (v: number) => void;
    const work = (signal: AbortSignal) => {
      runs++;
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise<number>((r) => (release = r));
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = f.run('k', work, a.signal);
    const pb = f.run('k', work, b.signal);
    expect(runs).toBe(1);
    a.abort();
    await expect(pa).rejects.toBeInstanceOf(ImageboxError);
    expect(aborted).toBe(false); // b still waits
    release(7);
    expect(await pb).toBe(7);
    const c = new AbortController();
    const pc = f.run('k2', work, c.signal);
    c.abort();
    await expect(pc).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(aborted).toBe(true);
  });
});

describe('If-None-Match', () => {
  it('matches lists, weak forms and *', () => {
    expect(etagMatches('"a"', '"a"')).toBe(true);
    expect(etagMatches('"x", W/"a"', '"a"')).toBe(true);
    expect(etagMatches('*', '"a"')).toBe(true);
    expect(etagMatches('"b"', '"a"')).toBe(false);
    expect(etagMatches(undefined, '"a"')).toBe(false);
  });
});

describe('fetch(Request) => Response adapter', () => {
  it('serves the same handlers without uWS', async () => {
    const box = createImagebox({
      registry: { slidesDir: FIXTURES },
      pixels: { run: () => Promise.reject(new ImageboxError('E_INTERNAL', 'no pixels here')) },
    });
    try {
      const handle = fetchHandler(box);
      const info = await handle(new Request('http://example.org/iiif/3/aperio-jpeg.svs/info.json'));
      expect(info.status).toBe(200);
      expect((await info.json()).id).toBe('http://example.org/iiif/3/aperio-jpeg.svs');
      const tile = await handle(new Request('http://example.org/iiif/3/aperio-jpeg.svs/768,512,256,256/max/0/default.jpg'));
      expect(tile.status).toBe(200);
      expect(tile.headers.get('x-tile-path')).toBe('passthrough');
      const redirect = await handle(new Request('https://example.org/iiif/3/aperio-jpeg.svs'));
      expect(redirect.status).toBe(303);
      expect(redirect.headers.get('location')).toBe('https://example.org/iiif/3/aperio-jpeg.svs/info.json');
      // X-Forwarded-* is not believed unless the server is told it sits behind a proxy
      const spoof = await handle(new Request('http://example.org/iiif/3/aperio-jpeg.svs', { headers: { 'x-forwarded-host': 'evil.example' } }));
      expect(spoof.headers.get('location')).toBe('http://example.org/iiif/3/aperio-jpeg.svs/info.json');
      const failed = await handle(new Request('http://example.org/iiif/3/aperio-jpeg.svs/full/10,/0/default.jpg'));
      expect(failed.status).toBe(500);
      expect(await failed.json()).toEqual({ error: { code: 'E_INTERNAL', message: 'internal error' } });
    } finally {
      await box.close();
    }
  });
});
