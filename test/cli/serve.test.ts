// `imagebox serve` as an operator starts it (built CLI, child processes): what
// it prints, a port that is taken, a slide directory that does not exist.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WSI_DIR } from '../helpers/fixtures.js';
import { parseServeArgs } from '../../src/cli/serve.js';
import { UsageError } from '../../src/cli/args.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Start `imagebox serve ...`; resolves with the first stdout line, or with the exit code and stderr if it exits first. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ line?: string; code?: number; stderr: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--workers', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve({ line: out.split('\n')[0], stderr: err, child });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stderr: err, child }));
  });
}

describe('imagebox serve', () => {
  it('prints the address it bound, and where to open it', async () => {
    const port = await freePort();
    const a = await serve(['--port', String(port), '--slides', WSI_DIR, '--threads', '2']);
    expect(a.line).toBe(
      `imagebox: listening on 0.0.0.0:${port} (every IPv4 interface), 2 threads; open http://127.0.0.1:${port}/ (IIIF at /iiif/3/, DeepZoom at /dzi/, slides at /slides)`,
    );
    const b = await serve(['--port', String(await freePort()), '--host', '127.0.0.1', '--slides', WSI_DIR, '--threads', '1']);
    expect(b.line).toMatch(/^imagebox: listening on 127\.0\.0\.1:\d+; open http:\/\/127\.0\.0\.1:\d+\//);
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    expect(r.status).toBe(200);
  });

  for (const direct of [false, true])
    it(`a second server on a taken port fails with EADDRINUSE and exit 1${direct ? ' (--direct)' : ''}`, async () => {
      const port = await freePort();
      const first = await serve(['--port', String(port), '--slides', WSI_DIR, ...(direct ? ['--direct'] : [])]);
      expect(first.line).toContain(`:${port}`);
      const second = await serve(['--port', String(port), '--slides', WSI_DIR, ...(direct ? ['--direct'] : [])]);
      expect(second.line).toBeUndefined();
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`cannot listen on 0.0.0.0:${port}: EADDRINUSE`);
      // the first one still answers everything
      for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    });

  it('--reuse-port --direct shares the port on purpose (documented)', async () => {
    const port = await freePort();
    const first = await serve(['--port', String(port), '--slides', WSI_DIR, '--direct', '--reuse-port']);
    const second = await serve(['--port', String(port), '--slides', WSI_DIR, '--direct', '--reuse-port']);
    expect(first.line).toContain(`:${port}`);
    expect(second.line).toContain(`:${port}`);
  });

  it('--immutable: image answers (IIIF, DeepZoom tiles, their 304s) are immutable for a year; info.json, the DZI and the listing are not', async () => {
    const plain = await freePort();
    const archive = await freePort();
    await serve(['--port', String(plain), '--host', '127.0.0.1', '--slides', WSI_DIR, '--threads', '1']);
    await serve(['--port', String(archive), '--host', '127.0.0.1', '--slides', WSI_DIR, '--threads', '2', '--immutable']);
    const cc = async (port: number, path: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
      await r.arrayBuffer();
      return { status: r.status, cacheControl: r.headers.get('cache-control'), etag: r.headers.get('etag') };
    };
    const images = ['/iiif/3/aperio-jpeg.svs/0,0,256,256/256,/0/default.jpg', '/iiif/2/aperio-jpeg.svs/full/200,/0/default.png', '/dzi/aperio-jpeg.svs_files/8/0_0.jpeg'];
    const others = ['/iiif/3/aperio-jpeg.svs/info.json', '/dzi/aperio-jpeg.svs.dzi', '/slides/aperio-jpeg.svs'];
    for (const path of images) {
      const a = await cc(archive, path);
      expect(a.status, path).toBe(200);
      expect(a.cacheControl, path).toBe('public, max-age=31536000, immutable');
      const again = await cc(archive, path, { 'If-None-Match': a.etag! });
      expect(again.status, path).toBe(304);
      expect(again.cacheControl, path).toBe('public, max-age=31536000, immutable');
      const p = await cc(plain, path);
      expect(p.cacheControl, path).toBe('public, max-age=86400');
      expect(p.etag, path).toBe(a.etag); // the same answer, only its lifetime differs
    }
    for (const path of others) {
      const a = await cc(archive, path);
      expect(a.status, path).toBe(200);
      expect(a.cacheControl, path).not.toContain('immutable');
    }
  });

  it('refuses to start on a slide directory that does not exist (exit 2, no stack)', async () => {
    const r = await serve(['--port', String(await freePort()), '--slides', '/nonexistent']);
    expect(r.line).toBeUndefined();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--slides \/nonexistent: no such directory/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--origin-connections: connections per remote origin, 1-1024, else a usage error', () => {
    expect(parseServeArgs(['--origin-connections', '16']).originConnections).toBe(16);
    expect(parseServeArgs([]).originConnections).toBeUndefined();
    for (const bad of ['0', '2000', 'x']) expect(() => parseServeArgs(['--origin-connections', bad])).toThrow(UsageError);
  });

  it('--require-token: refuses to start without IMAGEBOX_TOKEN_SECRET (or with a short one); with it, `imagebox token` makes the links that open a slide', async () => {
    const none = await serve(['--port', String(await freePort()), '--slides', WSI_DIR, '--require-token'], { IMAGEBOX_TOKEN_SECRET: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^imagebox: --require-token needs IMAGEBOX_TOKEN_SECRET in the environment\n/);
    const short = await serve(['--port', String(await freePort()), '--slides', WSI_DIR, '--require-token'], { IMAGEBOX_TOKEN_SECRET: 'too short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 32 bytes');

    const secret = { IMAGEBOX_TOKEN_SECRET: 'x'.repeat(16) + 'a cli test secret' };
    const port = await freePort();
    const a = await serve(['--port', String(port), '--host', '127.0.0.1', '--slides', WSI_DIR, '--require-token'], secret);
    expect(a.line).toMatch(/; tokens required$/);
    const url = `http://127.0.0.1:${port}`;
    const t = spawnSync(process.execPath, [CLI, 'token', '--slide', 'aperio-jpeg.svs', '--ttl', '10m', '--url', url], { env: { ...process.env, ...secret }, encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    const links = Object.fromEntries(t.stdout.trim().split('\n').map((l) => l.split(/\s+/) as [string, string]));
    expect(Object.keys(links)).toEqual(['token', 'expires', 'viewer', 'iiif', 'deepzoom', 'json']);
    expect(Date.parse(links['expires']!) - Date.now()).toBeGreaterThan(9 * 60_000);
    for (const k of ['iiif', 'deepzoom', 'json', 'viewer']) expect((await fetch(links[k]!)).status, k).toBe(200);
    expect((await fetch(`${url}/iiif/3/aperio-jpeg.svs/info.json`)).status).toBe(401);
    expect((await fetch(`${url}/iiif/3/aperio-jpeg.svs/info.json`, { headers: { Authorization: `Bearer ${links['token']}` } })).status).toBe(200);
    // the bare token, for a header
    const bare = spawnSync(process.execPath, [CLI, 'token', '--all'], { env: { ...process.env, ...secret }, encoding: 'utf8' });
    expect(bare.stdout).toMatch(/^\d+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\n$/);
    expect((await fetch(`${url}/slides`, { headers: { Authorization: `Bearer ${bare.stdout.trim()}` } })).status).toBe(200);
    // usage errors
    for (const args of [[], ['--slide', 'a', '--all'], ['--folder', 'no-slash'], ['--slide', 'a', '--ttl', '1y']]) {
      const u = spawnSync(process.execPath, [CLI, 'token', ...args], { env: { ...process.env, ...secret }, encoding: 'utf8' });
      expect(u.status, args.join(' ')).toBe(2);
    }
  });
});
