#!/usr/bin/env node
// The cost of opening a remote slide (issue 13, item 2), in one process, through
// the library (dist/: openSlide over HTTP, a fresh source each time), against our
// range origin in its own process (bench/lib/origin.mjs, --delay-ms per request):
//   - cold: no open cache (what an open costs with --open-cache off);
//   - disk: the disk open cache (serve's default --open-cache) holding the entry;
//   - redis: the cluster's shared cache on Debian's redis-server holding it (what a
//     node that never opened the slide pays when another node did).
// Per case: median, min and max of --opens opens, origin requests and bytes per open.
//
//   npm run build && node bench/reopen.mjs [--slide .bench-data/generated.svs]
//       [--delay-ms 0,20] [--opens 15] [--smoke]
//
// --smoke: the fixture slide, 3 opens, no delay (CI: bench/smoke.mjs). Without
// /usr/bin/redis-server the redis case is left out and said so (CI: it fails).
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DATA, SMOKE_SLIDE, startRemote } from './harness.mjs';
import { REDIS, haveRedis, startRedis } from './lib/redis.mjs';

const { values: opt } = parseArgs({
  options: {
    slide: { type: 'string' },
    'delay-ms': { type: 'string' },
    opens: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opt.smoke;
if (!existsSync('dist/index.js')) {
  console.error('no dist/index.js: npm run build');
  process.exit(2);
}
const svs = path.resolve(opt.slide ?? (smoke ? SMOKE_SLIDE : existsSync('.bench-data/generated.svs') ? '.bench-data/generated.svs' : SMOKE_SLIDE));
const DELAYS = (opt['delay-ms'] ?? (smoke ? '0' : '0,20')).split(',').map(Number);
const OPENS = Number(opt.opens ?? (smoke ? 3 : 15));
if (!haveRedis() && process.env.CI) {
  console.error(`reopen: no ${REDIS} (apt-get install redis-server)`);
  process.exit(1);
}

const { openSlide, openByteSource, DiskOpenCache } = await import(path.resolve('dist/index.js'));
const { RedisSharedCache } = await import(path.resolve('dist/node/redis-cache.js'));
const { openCacheOn } = await import(path.resolve('dist/io/shared-cache.js'));

const run = `${DATA}/run/reopen`;
rmSync(run, { recursive: true, force: true });
mkdirSync(`${run}/root`, { recursive: true });
const name = `slide${path.extname(svs)}`;
symlinkSync(svs, `${run}/root/${name}`);

const redisServer = haveRedis() ? await startRedis({ dataDir: DATA, name: 'reopen-redis' }) : undefined;
if (!redisServer) console.log(`reopen: no ${REDIS}: the redis case is left out`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rows = [];
for (const delay of DELAYS) {
  const origin = await startRemote(`${run}/root`, delay);
  const url = `${origin.base}/${name}`;
  const open = async (store) => {
    const src = openByteSource(url, { http: { allow: () => true } });
    const t = performance.now();
    const slide = await openSlide(src, { backgroundWarm: false, ...(store ? { openCache: store } : {}) });
    const ms = performance.now() - t;
    await slide.close();
    return ms;
  };
  const shared = redisServer ? new RedisSharedCache(redisServer.url, { log: () => undefined }) : undefined;
  if (shared) await new Promise((r) => setTimeout(r, 200)); // connected
  const cases = [
    ['cold', undefined],
    ['disk', new DiskOpenCache(`${run}/disk-${delay}`)],
    ...(shared ? [['redis', openCacheOn(shared)]] : []),
  ];
  for (const [kind, store] of cases) {
    if (store) {
      await open(store); // the entry: what a cold open keeps
      await new Promise((r) => setTimeout(r, 200)); // its write is not awaited by the open
    }
    await open(store); // this process warm on this case's path
    await origin.reset();
    const ms = [];
    for (let i = 0; i < OPENS; i++) ms.push(await open(store));
    const s = await origin.stats();
    const row = {
      delayMs: delay,
      kind,
      medianMs: +median(ms).toFixed(1),
      minMs: +Math.min(...ms).toFixed(1),
      maxMs: +Math.max(...ms).toFixed(1),
      requestsPerOpen: +(s.requests / OPENS).toFixed(2),
      bytesPerOpen: Math.round(s.bytes / OPENS),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  await shared?.close();
  await origin.stop();
}
await redisServer?.stop();

console.log(`\nopening ${path.basename(svs)} over HTTP (a fresh source per open; ${OPENS} opens per case; origin: bench/lib/origin.mjs in its own process)`);
console.log('| origin delay ms | open cache | median ms | min ms | max ms | origin requests per open | origin bytes per open |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.delayMs} | ${r.kind} | ${r.medianMs} | ${r.minMs} | ${r.maxMs} | ${r.requestsPerOpen} | ${r.bytesPerOpen} |`);
const out = `${DATA}/results/reopen${smoke ? '-smoke' : ''}.json`;
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), slide: svs, opens: OPENS, rows }, null, 2));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
rmSync(run, { recursive: true, force: true });
// the warm cases must cost one request each: anything else is a regression this benchmark exists to show
const bad = rows.filter((r) => r.kind !== 'cold' && r.requestsPerOpen !== 1);
if (bad.length) {
  console.error(`warm opens that did not cost exactly 1 request: ${JSON.stringify(bad)}`);
  process.exit(1);
}
