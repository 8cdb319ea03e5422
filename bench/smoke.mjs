#!/usr/bin/env node
// npm run bench:smoke: every benchmark in its smoke mode (the small fixture
// slide, tiny counts), one after the other, so that none can rot unnoticed.
// Nothing here judges a time: a benchmark fails only if it exits non-zero
// (a crash, a failed request, a page error). CI runs it after the tests.
// Needs no ../shared/tools (IIPImage / OpenSlide are skipped in smoke mode) and
// runs bench/viewer.mjs only where /usr/bin/chromium is (CI installs it).
//
//   npm run bench:smoke [-- --no-build] [--only suite,viewer,...]
//
// Each benchmark's output goes to .bench-data/results/smoke-NAME.log (its tail is
// printed when it fails). The last line: "bench smoke: N benchmarks ran[, K skipped]"
// or "bench smoke: FAILED ..."; exit status 1 if any failed.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);
const { values: opt } = parseArgs({ options: { 'no-build': { type: 'boolean', default: false }, only: { type: 'string' }, 'timeout-s': { type: 'string', default: '240' } } });
const { DATA } = await import('./harness.mjs');

const vitest = path.join(ROOT, 'node_modules', '.bin', 'vitest');
const BENCHES = [
  ['suite', ['node', 'bench/suite.mjs', '--smoke']],
  ['iiif-load', ['node', 'bench/iiif-load.mjs', '--smoke']],
  ['remote-io', ['node', 'bench/remote-io.mjs', '--smoke']],
  ['stream-session', ['node', 'bench/stream-session.mjs', '--smoke']],
  ['load-soak', ['node', 'bench/load-soak.mjs', '--smoke']],
  ['threads', ['node', 'bench/threads.mjs', '--smoke']],
  ['cluster', ['node', 'bench/cluster.mjs', '--smoke']],
  ['reopen', ['node', 'bench/reopen.mjs', '--smoke']],
  ['viewer', ['node', 'bench/viewer.mjs', '--smoke'], existsSync('/usr/bin/chromium') ? undefined : 'no /usr/bin/chromium (CI installs it: .ci/run)'],
  ['make-slide', ['node', 'bench/make-slide.mjs', '--width', '3000', '--height', '2000', '--out', `${DATA}/results/smoke-generated.svs`, '--force']],
  ['kernels-jpeg', [vitest, 'bench', '--run', 'bench/kernels-jpeg.bench.ts'], undefined, { BENCH_SMOKE: '1' }],
  ['kernels-ops', [vitest, 'bench', '--run', 'bench/kernels-ops.bench.ts'], undefined, { BENCH_SMOKE: '1' }],
].filter(([name]) => !opt.only || opt.only.split(',').includes(name));

const t0 = performance.now();
if (!opt['no-build']) {
  console.log('bench smoke: npm run build');
  const b = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) {
    console.log('bench smoke: FAILED: npm run build');
    process.exit(1);
  }
}

function run(name, [cmd, ...args], env) {
  const logFile = `${DATA}/results/smoke-${name}.log`;
  const out = createWriteStream(logFile);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const timer = setTimeout(() => {
      out.write(`\nbench smoke: killed after ${opt['timeout-s']} s\n`);
      try {
        process.kill(-child.pid, 'SIGKILL'); // its own process group: the servers it started too
      } catch {
        /* gone */
      }
    }, Number(opt['timeout-s']) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end(() => resolve({ code: code ?? 1, signal, logFile }));
    });
  });
}

let ran = 0;
const failed = [];
const skipped = [];
for (const [name, cmd, skip, env] of BENCHES) {
  if (skip) {
    skipped.push(name);
    console.log(`bench smoke: ${name} skipped: ${skip}`);
    continue;
  }
  const s0 = performance.now();
  const r = await run(name, cmd, env);
  const secs = ((performance.now() - s0) / 1000).toFixed(1);
  ran++;
  if (r.code === 0) console.log(`bench smoke: ${name} ok (${secs} s)`);
  else {
    failed.push(name);
    console.log(`bench smoke: ${name} FAILED (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}, ${secs} s); the end of ${path.relative(ROOT, r.logFile)}:`);
    console.log(readFileSync(r.logFile, 'utf8').split('\n').slice(-30).map((l) => `  ${l}`).join('\n'));
  }
}
const total = ((performance.now() - t0) / 1000).toFixed(0);
if (failed.length) {
  console.log(`bench smoke: FAILED ${failed.length} of ${ran} (${failed.join(', ')}) in ${total} s`);
  process.exit(1);
}
console.log(`bench smoke: ${ran} benchmarks ran${skipped.length ? `, ${skipped.length} skipped (${skipped.join(', ')})` : ''} in ${total} s`);
