// The other process of test/slide/warm-reopen.test.ts (bundled with esbuild):
// opens a slide over HTTP with a disk open cache, prints what it opened (one
// JSON line), waits for a line on stdin, prints the SHA-256 of one tile, exits.
//   node child.mjs URL CACHE_DIR COL ROW
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { openByteSource } from '../../src/io/open-source-node.js';
import { DiskOpenCache } from '../../src/node/open-cache-disk.js';
import { openSlide } from '../../src/slide/open-slide.js';

const [url, dir, col, row] = process.argv.slice(2) as [string, string, string, string];
const slide = await openSlide(openByteSource(url), { backgroundWarm: false, openCache: new DiskOpenCache(dir) });
process.stdout.write(`${JSON.stringify({ levels: slide.levels, properties: slide.properties })}\n`);
const lines = createInterface({ input: process.stdin });
for await (const _ of lines) break;
const t = await slide.tile(0, Number(col), Number(row));
process.stdout.write(`${createHash('sha256').update(t.bytes).digest('hex')}\n`);
await slide.close();
process.exit(0);
