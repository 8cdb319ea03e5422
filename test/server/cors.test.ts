import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/cli/serve.js';
import { UsageError } from '../../src/cli/args.js';
import { start, type StartedServer } from './helpers.js';

let open: StartedServer;
let listed: StartedServer;
beforeAll(async () => {
  open = await start();
  listed = await start({ corsOrigins: ['https://viewer.example', 'http://127.0.0.1:3000/'] });
});
afterAll(async () => {
  await open?.close();
  await listed?.close();
});

const get = (s: StartedServer, path: string, origin?: string) => fetch(`${s.url}${path}`, { headers: origin ? { origin } : {} });

describe('CORS origins', () => {
  it('by default any page may read answers (Access-Control-Allow-Origin: *)', async () => {
    const r = await get(open, '/iiif/3/aperio-jpeg.svs/info.json', 'https://anyone.example');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('with a list: a listed origin is echoed with Vary: Origin; any other gets no Access-Control-Allow-Origin, on info, tiles and errors alike', async () => {
    for (const path of ['/iiif/3/aperio-jpeg.svs/info.json', '/iiif/3/aperio-jpeg.svs/0,0,256,256/256,/0/default.jpg', '/iiif/3/missing.svs/info.json', '/slides']) {
      const ok = await get(listed, path, 'https://viewer.example');
      expect(ok.headers.get('access-control-allow-origin'), path).toBe('https://viewer.example');
      expect(ok.headers.get('vary'), path).toMatch(/Origin/);
      const other = await get(listed, path, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(other.headers.get('vary'), path).toMatch(/Origin/);
      expect((await get(listed, path)).headers.get('access-control-allow-origin'), path).toBeNull();
    }
    expect((await get(listed, '/slides', 'http://127.0.0.1:3000')).headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:3000');
    const pre = await fetch(`${listed.url}/iiif/3/aperio-jpeg.svs/info.json`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('--cors-origin takes origins only (usage error otherwise)', () => {
    expect(parseServeArgs(['--cors-origin', 'https://a.example', '--cors-origin', 'http://b.example:81']).corsOrigins).toEqual(['https://a.example', 'http://b.example:81']);
    for (const bad of ['a.example', 'https://a.example/path', 'ftp://a.example', 'https://u:p@a.example']) expect(() => parseServeArgs(['--cors-origin', bad])).toThrow(UsageError);
  });

  it('with a list, the WebSocket stream refuses pages of other origins at the upgrade (403); listed pages and non-browser clients (no Origin) get 101', async () => {
    const upgrade = (s: StartedServer, origin?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const u = new URL(s.url);
        const req = request({
          host: u.hostname,
          port: u.port,
          path: '/stream',
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            'sec-websocket-protocol': 'imagebox.v1',
            ...(origin ? { origin } : {}),
          },
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await upgrade(listed, 'https://evil.example')).toBe(403);
    expect(await upgrade(listed, 'https://viewer.example')).toBe(101);
    expect(await upgrade(listed)).toBe(101);
    expect(await upgrade(open, 'https://evil.example')).toBe(101);
  });
});

