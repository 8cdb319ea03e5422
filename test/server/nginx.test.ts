// imagebox behind a real nginx (Debian's), as docs/deployment.md configures it:
// nginx's default proxy_pass speaks HTTP/1.0 upstream (the front door answers
// it), and the documented upstream block (HTTP/1.1 keep-alive) in front of
// `serve --direct`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedServer } from '../../src/server/serve.js';
import { haveNginx, startNginx, type Nginx } from '../helpers/nginx.js';
import { start } from './helpers.js';

const TILE = '/iiif/3/aperio-jpeg.svs/256,256,256,256/256,256/0/default.jpg';

describe.skipIf(!haveNginx)('behind nginx', () => {
  for (const mode of ['default proxy_pass (HTTP/1.0 upstream) -> front door', 'documented upstream (HTTP/1.1 keep-alive) -> --direct'] as const) {
    describe(mode, () => {
      let s: StartedServer;
      let nginx: Nginx;
      const direct = mode.includes('--direct');
      beforeAll(async () => {
        s = await start({ direct });
        nginx = await startNginx((port) =>
          direct
            ? `
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream imagebox { server 127.0.0.1:${s.port}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://imagebox;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host:$server_port;
      proxy_read_timeout 10s;
    }
  }`
            : `
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${s.port};
      proxy_read_timeout 10s;
    }
  }`,
        );
      });
      afterAll(async () => {
        await nginx?.stop();
        await s?.close();
      });
      it('health, info.json, a passthrough tile and a 404 come through', async () => {
        const t0 = performance.now();
        expect((await fetch(`${nginx.url}/health`)).status).toBe(200);
        const info = await fetch(`${nginx.url}/iiif/3/aperio-jpeg.svs/info.json`);
        expect(info.status).toBe(200);
        expect((await info.json()).width).toBe(8000);
        const tile = await fetch(nginx.url + TILE);
        expect(tile.status).toBe(200);
        expect(tile.headers.get('x-tile-path')).toMatch(/passthrough|cache/);
        expect(new Uint8Array(await tile.arrayBuffer()).subarray(0, 2)).toEqual(Uint8Array.of(0xff, 0xd8));
        const missing = await fetch(`${nginx.url}/iiif/3/nope.svs/info.json`);
        expect(missing.status).toBe(404);
        expect(performance.now() - t0).toBeLessThan(5000); // not nginx waiting out a silent upstream
      });
      if (direct)
        it('the WebSocket stream works through nginx (Upgrade forwarded)', async () => {
          const { connectTileStream } = await import('../../src/stream/client-node.js');
          const c = await connectTileStream(nginx.url.replace('http', 'ws') + '/stream', { encodings: ['jpeg'] });
          try {
            const slide = await c.open('aperio-jpeg.svs');
            const r = await c.view(slide.handle, { level: 1, x: 0, y: 0, width: 1024, height: 768 });
            expect(r.tiles).toBe(12);
            expect(c.stats().tilesReceived).toBeGreaterThanOrEqual(12);
          } finally {
            await c.close();
          }
        });
      it('30 tiles over nginx all arrive', async () => {
        const all = await Promise.all(
          Array.from({ length: 30 }, (_, i) => fetch(`${nginx.url}/iiif/3/aperio-jpeg.svs/${(i % 10) * 256},${Math.floor(i / 10) * 256},256,256/256,256/0/default.jpg`)),
        );
        for (const r of all) expect(r.status).toBe(200);
      });
    });
  }
});
