// A benchmark slide without downloads: a synthetic Aperio SVS (BigTIFF, 256 px
// JPEG tiles with shared JPEGTables, levels at downsample 1/4/16/64, thumbnail,
// label, macro) written by imagebox's own TIFF writer and WASM JPEG encoder,
// plus the level-0 tile index the range-read benchmarks use (the JSON of
// ../shared/tools/tile-index.mjs).
//
//   npm run bench:data -- [--width 100000] [--height 60000] [--out .bench-data/generated.svs]
//                         [--quality 80] [--seed 1] [--tile 256] [--mpp 0.499] [--mag 20]
//                         [--workers 2] [--index PATH | --no-index] [--force]
//
// The default size takes a few minutes on 2 cores; small sizes (CI smoke runs) take
// about a second. The output is the same bytes for the same options, whatever --workers.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SYNTHETIC_DEFAULTS, writeSyntheticSlide } from '../dist/node/synthetic-slide.js';

const { values: opt } = parseArgs({
  options: {
    width: { type: 'string', default: String(SYNTHETIC_DEFAULTS.width) },
    height: { type: 'string', default: String(SYNTHETIC_DEFAULTS.height) },
    out: { type: 'string', default: '.bench-data/generated.svs' },
    quality: { type: 'string', default: String(SYNTHETIC_DEFAULTS.quality) },
    seed: { type: 'string', default: String(SYNTHETIC_DEFAULTS.seed) },
    tile: { type: 'string', default: String(SYNTHETIC_DEFAULTS.tile) },
    mpp: { type: 'string', default: String(SYNTHETIC_DEFAULTS.mpp) },
    mag: { type: 'string', default: String(SYNTHETIC_DEFAULTS.appMag) },
    workers: { type: 'string' },
    index: { type: 'string' },
    'no-index': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(readUsage());
  process.exit(0);
}

const num = (name) => {
  const v = Number(opt[name]);
  if (opt[name] === undefined || opt[name].trim() === '' || !Number.isFinite(v)) {
    console.error(`--${name}: not a number: ${opt[name]}`);
    process.exit(2);
  }
  return v;
};

const out = opt.out;
const index = opt['no-index'] ? undefined : (opt.index ?? out.replace(/\.svs$/i, '') + '-index.json');
mkdirSync(path.dirname(path.resolve(out)), { recursive: true });

const tty = process.stderr.isTTY;
let lastLine = 0;
let finalLine = false;
const fmtTime = (s) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
function progress({ done, total, bytes, elapsedMs }) {
  const s = elapsedMs / 1000;
  const rate = done / Math.max(s, 1e-3);
  const eta = rate > 0 ? (total - done) / rate : 0;
  const pct = (100 * done) / total;
  const stats = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} tiles  ${rate.toFixed(0)} tiles/s  ${mb(bytes)}  ETA ${fmtTime(eta)}`;
  if (tty) {
    const width = 30;
    const fill = Math.round((width * done) / total);
    process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct.toFixed(1).padStart(5)}%  ${stats}\x1b[K`);
  } else if ((done === total && !finalLine) || (done < total && elapsedMs - lastLine >= 10_000)) {
    finalLine = done === total;
    // no TTY (CI): a plain line every 10 s
    lastLine = elapsedMs;
    process.stderr.write(`make-slide: ${pct.toFixed(1)}%  ${stats}\n`);
  }
}

let result;
try {
  result = await writeSyntheticSlide({
    out,
    width: num('width'),
    height: num('height'),
    quality: num('quality'),
    seed: num('seed'),
    tile: num('tile'),
    mpp: num('mpp'),
    appMag: num('mag'),
    workers: opt.workers === undefined ? undefined : num('workers'),
    overwrite: opt.force,
    onProgress: progress,
  });
} catch (e) {
  if (tty) process.stderr.write('\n');
  console.error(`make-slide: ${e.code ? `${e.code}: ` : ''}${e.message}${e.code === 'E_BAD_REQUEST' && /exists/.test(e.message) ? ' (pass --force to replace it)' : ''}`);
  process.exit(1);
}
if (tty) process.stderr.write('\n');

const l0 = result.levels[0];
if (index) {
  // the schema of ../shared/tools/tile-index.mjs (load.mjs --index reads it)
  writeFileSync(
    index,
    JSON.stringify({
      file: out,
      ifd: 0,
      bigtiff: true,
      width: l0.width,
      height: l0.height,
      tileWidth: num('tile'),
      tileHeight: num('tile'),
      cols: l0.cols,
      rows: l0.rows,
      compression: 7,
      jpegTablesBytes: result.jpegTablesBytes,
      description: result.description.slice(0, 200),
      offsets: Array.from(result.level0.offsets),
      counts: Array.from(result.level0.byteCounts),
    }) + '\n',
  );
}

const peakRss = process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
const summary = {
  file: out,
  index: index ?? null,
  bytes: result.bytes,
  seconds: +result.seconds.toFixed(1),
  tiles: result.tiles,
  tilesPerSecond: +(result.tiles / result.seconds).toFixed(0),
  peakRssMb: +(peakRss / 1e6).toFixed(0),
  levels: result.levels.map((l) => ({ width: l.width, height: l.height, tiles: l.cols * l.rows, bytes: l.bytes, glassTiles: l.glassTiles })),
};
console.log(JSON.stringify(summary, null, 2));
console.error(
  `make-slide: ${out}: ${result.bytes.toLocaleString('en-US')} bytes, ${result.tiles.toLocaleString('en-US')} tiles in ${fmtTime(result.seconds)} ` +
    `(${summary.tilesPerSecond} tiles/s), peak RSS ${summary.peakRssMb} MB`,
);

function readUsage() {
  return [
    'usage: node bench/make-slide.mjs [options]   (npm run bench:data -- [options])',
    '  --width N, --height N   level-0 size (default 100000 x 60000)',
    '  --out PATH              output SVS (default .bench-data/generated.svs; refuses to replace a file without --force)',
    '  --quality Q             JPEG quality 1..100 (default 80)',
    '  --seed N                content seed (default 1)',
    '  --tile N                tile size, a multiple of 16 (default 256)',
    '  --mpp X, --mag N        Aperio MPP and AppMag (default 0.499, 20)',
    '  --workers N             worker threads (default min(2, cores); 0 = none)',
    '  --index PATH            level-0 tile index JSON (default <out>-index.json); --no-index skips it',
  ].join('\n');
}
