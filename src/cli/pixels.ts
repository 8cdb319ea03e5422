// `imagebox region` and `imagebox tile`: pixels out of a slide into a file.
//   region <path|url> <x> <y> <level> <width> <height> -o out.png|out.jpg
//     (the argument order of OpenSlide's openslide-write-png; x, y in level-0 pixels)
//   tile <path|url> <level> <col> <row> -o out.png|out.jpg
//     (.jpg of a native JPEG tile = its stored bytes with JPEGTables spliced in)
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { ImageboxError } from '../errors.js';
import { encodeJpeg } from '../codecs/jpeg-encode.js';
import { kernels } from '../codecs/kernels-node.js';
import { encodePngNode as encodePng } from '../codecs/png-encode-node.js';
import { openSlide } from '../node/open-slide.js';
import { spliceJpeg } from '../codecs/jpeg-splice.js';
import { Compression, Photometric } from '../contracts/tile.js';
import { type RGBA } from '../contracts/pixels.js';
import { parseHeaders } from './headers.js';

function integer(name: string, s: string | undefined, min = 0): number {
  const n = Number(s);
  if (s === undefined || !Number.isInteger(n) || n < min) throw new ImageboxError('E_BAD_REQUEST', `${name} must be an integer >= ${min}, got "${s ?? ''}"`);
  return n;
}

function parse(argv: string[], count: number, usage: string) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      quality: { type: 'string', default: '90' },
      header: { type: 'string', multiple: true, default: [] },
    },
  });
  if (positionals.length !== count || !values.output) throw new ImageboxError('E_BAD_REQUEST', `usage: ${usage}`);
  const format = extname(values.output).toLowerCase();
  if (!['.png', '.jpg', '.jpeg'].includes(format)) throw new ImageboxError('E_BAD_REQUEST', `output must be .png or .jpg: ${values.output}`);
  const quality = integer('--quality', values.quality, 1);
  return { positionals, output: values.output, png: format === '.png', quality, headers: parseHeaders(values.header) };
}

async function encode(img: RGBA, png: boolean, quality: number): Promise<Uint8Array> {
  if (png) return encodePng(img);
  return encodeJpeg(await kernels(), img, { quality, subsampling: quality >= 90 ? '444' : '420' });
}

export async function runRegion(argv: string[]): Promise<number> {
  const o = parse(argv, 6, 'imagebox region <path|url> <x> <y> <level> <width> <height> -o out.png|out.jpg');
  const [where, xs, ys, ls, ws, hs] = o.positionals as [string, string, string, string, string, string];
  const slide = await openSlide(where, { source: { http: { headers: o.headers } } });
  try {
    const img = await slide.readRegion(integer('x', xs, -1e12), integer('y', ys, -1e12), integer('level', ls), integer('width', ws, 1), integer('height', hs, 1));
    await writeFile(o.output, await encode(img, o.png, o.quality));
  } finally {
    await slide.close();
  }
  return 0;
}

export async function runTile(argv: string[]): Promise<number> {
  const o = parse(argv, 4, 'imagebox tile <path|url> <level> <col> <row> -o out.png|out.jpg');
  const [where, ls, cs, rs] = o.positionals as [string, string, string, string];
  const slide = await openSlide(where, { source: { http: { headers: o.headers } } });
  try {
    const level = integer('level', ls);
    const col = integer('col', cs);
    const row = integer('row', rs);
    const t = await slide.tile(level, col, row);
    const full = t.validWidth === t.width && t.validHeight === t.height;
    if (!o.png && t.compression === Compression.Jpeg && !t.missing && full) {
      // Passthrough: the stored bytes, made a complete stream. Decode once to fail on a damaged tile.
      await slide.readTile(level, col, row);
      const jpeg = spliceJpeg(t.jpegTables, t.bytes, t.photometric === Photometric.Rgb);
      if (!jpeg) throw new ImageboxError('E_CORRUPT_TILE', `tile (${col}, ${row}) is not a JPEG stream`);
      await writeFile(o.output, jpeg);
    } else {
      await writeFile(o.output, await encode(await slide.readTile(level, col, row), o.png, o.quality));
    }
  } finally {
    await slide.close();
  }
  return 0;
}
