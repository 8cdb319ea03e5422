// Builds the viewer into dist/web with esbuild: viewer.js (a classic script:
// window.imagebox), viewer.mjs (the `imagebox/viewer` module), direct-worker.js
// (the no-server Web Worker), beside the pages, the stylesheet, kernels.wasm and
// OpenJPEG's decoder wasm. `node web/build.mjs` (part of `npm run build`).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist/web');
const require = createRequire(import.meta.url);
mkdirSync(OUT, { recursive: true });

const common = {
  bundle: true,
  platform: 'browser',
  target: ['chrome109', 'firefox115', 'safari16'],
  sourcemap: true,
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // OpenJPEG's Emscripten glue names fs/path on its Node branch only
  external: ['fs', 'path'],
  define: { 'process.env.NODE_ENV': '"production"' },
};

await Promise.all([
  build({ ...common, entryPoints: [join(ROOT, 'web/src/bundle.ts')], format: 'iife', outfile: join(OUT, 'viewer.js'), define: { ...common.define, IMAGEBOX_MODULE_URL: 'undefined' } }),
  build({ ...common, entryPoints: [join(ROOT, 'web/src/module.ts')], format: 'esm', outfile: join(OUT, 'viewer.mjs'), define: { ...common.define, IMAGEBOX_MODULE_URL: 'import.meta.url' } }),
  build({ ...common, entryPoints: [join(ROOT, 'web/src/direct-worker.ts')], format: 'iife', outfile: join(OUT, 'direct-worker.js'), define: { ...common.define, IMAGEBOX_MODULE_URL: 'undefined' } }),
]);

for (const f of ['index.html', 'viewer.html', 'osd.html', 'viewer.css']) copyFileSync(join(ROOT, 'web', f), join(OUT, f));
copyFileSync(join(ROOT, 'build/kernels.wasm'), join(OUT, 'kernels.wasm'));
copyFileSync(require.resolve('@cornerstonejs/codec-openjpeg/decodewasm'), join(OUT, 'openjpeg.wasm'));
copyFileSync(require.resolve('@cornerstonejs/codec-charls/decodewasm'), join(OUT, 'charls.wasm'));

const worker = readFileSync(join(OUT, 'direct-worker.js'), 'utf8');
if (/\bimport\s*\(|require\((?!"(fs|path)")/.test(worker)) throw new Error('direct-worker.js must be a classic script with no dynamic loads');
process.stdout.write(`web: ${OUT}\n`);
