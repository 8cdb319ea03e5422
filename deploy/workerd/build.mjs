// Bundles the Workers entry (src/serverless/worker.ts) with esbuild into
// dist/serverless-bundle/worker.js, next to kernels.wasm (a module import the
// platform compiles). node:crypto / node:events stay imports (nodejs_compat).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dist', 'serverless-bundle');
mkdirSync(out, { recursive: true });
const res = await build({
  entryPoints: [join(root, 'src/serverless/worker.ts')],
  outfile: join(out, 'worker.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  conditions: ['worker', 'browser'],
  target: 'es2022',
  external: ['*.wasm', 'node:*'],
  metafile: true,
  logLevel: 'warning',
});
copyFileSync(join(root, 'build/kernels.wasm'), join(out, 'kernels.wasm'));
const imports = Object.values(res.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
console.log(`serverless bundle: ${out}/worker.js (+ kernels.wasm); imports ${[...new Set(imports)].join(', ')}`);
