// The same kernels.wasm in headless chromium: decoding fixture tiles in the
// browser gives byte-identical output to Node's (same module, same bytes).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJpeg, type JpegColorTransform } from '../../src/codecs/jpeg.js';
import { resizeArea } from '../../src/codecs/image-ops.js';
import { kernels, KERNELS_WASM_PATH } from '../../src/codecs/kernels-node.js';
import { haveChromium, launchChromium } from '../helpers/chromium.js';

const JPEG_DIR = fileURLToPath(new URL('../fixtures/jpeg/', import.meta.url));

interface Case {
  name: string;
  tables: string | undefined;
  transform: JpegColorTransform;
  scale: 1 | 2 | 4 | 8;
}

/** Fixture tiles (see test/fixtures/jpeg/README.md): Aperio RGB tiles need colorTransform 'none'. */
function cases(): Case[] {
  const out: Case[] = [];
  for (const f of readdirSync(JPEG_DIR).filter((n) => n.includes('.tile-')).sort()) {
    const base = f.slice(0, f.indexOf('.tile-'));
    const transform: JpegColorTransform = base.startsWith('aperio-jpeg') || base === 'small-svs' ? 'none' : 'ycbcr';
    for (const scale of [1, 8] as const) out.push({ name: f, tables: `${base}.tables.jpg`, transform, scale });
  }
  return out;
}

const ENTRY = `
  import { Kernels } from './src/codecs/kernels.ts';
  import { decodeJpeg } from './src/codecs/jpeg.ts';
  import { resizeArea } from './src/codecs/image-ops.ts';
  async function hex(data) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  window.run = async (cases) => {
    const k = await Kernels.fromBytes(await (await fetch('/kernels.wasm')).arrayBuffer());
    const get = async (n) => new Uint8Array(await (await fetch('/jpeg/' + n)).arrayBuffer());
    const out = [];
    for (const c of cases) {
      const img = decodeJpeg(k, await get(c.name), { tables: c.tables ? await get(c.tables) : undefined, colorTransform: c.transform, scale: c.scale });
      const small = resizeArea(k, img, Math.max(1, img.width >> 1) + 1, Math.max(1, img.height >> 1) + 1);
      out.push({ name: c.name, scale: c.scale, w: img.width, h: img.height, sha: await hex(img.data), small: await hex(small.data) });
    }
    return out;
  };
`;

describe.skipIf(!haveChromium)('kernels.wasm in headless chromium', () => {
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const bundle = await build({
      stdin: { contents: ENTRY, resolveDir: fileURLToPath(new URL('../../', import.meta.url)), loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const js = bundle.outputFiles[0]!.text;
    const wasm = readFileSync(KERNELS_WASM_PATH);
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/bundle.js"></script>');
      } else if (url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      } else if (url === '/kernels.wasm') {
        res.writeHead(200, { 'content-type': 'application/wasm' }).end(wasm);
      } else if (url.startsWith('/jpeg/') && /^[\w.-]+$/.test(url.slice(6))) {
        res.writeHead(200).end(readFileSync(JPEG_DIR + url.slice(6)));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it('decodes every fixture tile (full and 1/8 scale) and resamples it to the same bytes as Node', async () => {
    const list = cases();
    expect(list.length).toBeGreaterThan(20);
    const page = await browser.newPage();
    await page.goto(base);
    const inBrowser = (await page.evaluate((c) => (window as unknown as { run(c: Case[]): Promise<unknown> }).run(c), list)) as {
      name: string;
      scale: number;
      w: number;
      h: number;
      sha: string;
      small: string;
    }[];
    const k = await kernels();
    const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
    const inNode = list.map((c) => {
      const img = decodeJpeg(k, readFileSync(JPEG_DIR + c.name), {
        tables: c.tables ? readFileSync(JPEG_DIR + c.tables) : undefined,
        colorTransform: c.transform,
        scale: c.scale,
      });
      const small = resizeArea(k, img, Math.max(1, img.width >> 1) + 1, Math.max(1, img.height >> 1) + 1);
      return { name: c.name, scale: c.scale, w: img.width, h: img.height, sha: sha(img.data), small: sha(small.data) };
    });
    expect(inBrowser).toEqual(inNode);
    await page.close();
  });
});
