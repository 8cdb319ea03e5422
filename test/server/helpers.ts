// Test helpers: build the pixel worker (and test backends) with esbuild, so
// worker threads run real JavaScript, and start the real server on 127.0.0.1.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startServer, type ServeOptions, type StartedServer } from '../../src/server/serve.js';
import type { PoolOptions } from '../../src/server/pixels/pool.js';
import { colourError } from '../helpers/pixels.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = `${ROOT}test/fixtures/wsi`;
// under node_modules: ignored by git, and bare imports (undici, sharp) still resolve
const OUT = `${ROOT}node_modules/.cache/imagebox-test`;

const built = new Map<string, Promise<URL>>();

/**
 * Bundle one entry to node_modules/.cache/imagebox-test/<name>-<hash>.mjs (packages
 * stay external). Written to a temporary name and renamed: test files running
 * in parallel processes never see a half-written bundle, and unchanged code
 * reuses the same file instead of piling up new ones.
 */
export function bundle(entry: string, name: string): Promise<URL> {
  let p = built.get(name);
  if (!p) {
    mkdirSync(OUT, { recursive: true });
    p = build({
      entryPoints: [entry],
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
      // kernels-node.ts finds build/kernels.wasm relative to its own URL
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(`${ROOT}src/codecs/kernels-node.ts`).href) },
    }).then((r) => {
      const code = r.outputFiles[0]!.contents;
      const outfile = `${OUT}/${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
      if (!existsSync(outfile)) {
        const tmp = `${outfile}.${process.pid}.tmp`;
        writeFileSync(tmp, code);
        renameSync(tmp, outfile);
      }
      return pathToFileURL(outfile);
    });
    built.set(name, p);
  }
  return p;
}

export function workerUrl(): Promise<URL> {
  return bundle(`${ROOT}src/server/pixels/worker.ts`, 'worker');
}

/** The real server on 127.0.0.1 (an ephemeral port unless `port` says which: a restart on the same one). */
export async function start(o: Partial<Omit<ServeOptions, 'pixels'>> & { backend?: string; pixels?: PoolOptions } = {}): Promise<StartedServer> {
  const w = await workerUrl();
  const backendUrl = o.backend ? (await bundle(o.backend, o.backend.replace(/.*\//, '').replace(/\.ts$/, ''))).href : undefined;
  return startServer({
    registry: { slidesDir: FIXTURES },
    ...o,
    // the worker is always the one bundled from src/ (dist/ may be stale in a test run)
    pixels: { size: 2, ...o.pixels, workerUrl: w, backendUrl },
    host: '127.0.0.1',
    port: o.port ?? 0,
  });
}

/** PSNR (dB) of two RGBA/RGB buffers over the colour channels. */
export function psnr(a: Uint8Array, b: Uint8Array, channelsA = 4, channelsB = 4): number {
  return colourError(a, channelsA, b, channelsB).psnr;
}
