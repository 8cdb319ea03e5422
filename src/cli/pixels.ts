// `imagebox region` and `imagebox tile`: pixels out of a slide into a file.
//   region <path|url> <x> <y> <level> <width> <height> -o out.png|out.jpg
//     (the argument order of OpenSlide's openslide-write-png; x, y in level-0
//     pixels, negative allowed: outside the image is transparent)
//   tile <path|url> <level> <col> <row> -o out.png|out.jpg
//     (.jpg of a native JPEG tile = its stored bytes with JPEGTables spliced in)
import { access, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { ImageboxError } from '../errors.js';
import { encodeJpeg } from '../codecs/jpeg-encode.js';
import { kernels } from '../codecs/kernels-node.js';
import { encodePngNode as encodePng } from '../codecs/png-encode-node.js';
import { openSlide } from '../node/open-slide.js';
import { spliceJpeg } from '../codecs/jpeg-splice.js';
import { Compression, Photometric } from '../contracts/tile.js';
import type { RGBA } from '../contracts/pixels.js';
import { integerArg, parseCommandLine, UsageError } from './args.js';
import { parseHeaders } from './headers.js';

const REGION_USAGE = 'usage: imagebox region <path|url> <x> <y> <level> <width> <height> -o out.png|out.jpg [--quality 1-100] [--header "Name: value"]\n';
const TILE_USAGE = 'usage: imagebox tile <path|url> <level> <col> <row> -o out.png|out.jpg [--quality 1-100] [--header "Name: value"]\n';
const COORD = 1e12;

async function parse(argv: string[], count: number, usage: string) {
  const { values, positionals } = parseCommandLine(
    argv,
    { output: { type: 'string', short: 'o' }, quality: { type: 'string' }, header: { type: 'string', multiple: true } },
    usage,
  );
  if (positionals.length !== count) throw new UsageError(`expected ${count} arguments, got ${positionals.length}`, usage);
  const output = values['output'] as string | undefined;
  if (!output) throw new UsageError('-o out.png|out.jpg is required', usage);
  const format = extname(output).toLowerCase();
  if (!['.png', '.jpg', '.jpeg'].includes(format)) throw new UsageError(`-o must end in .png or .jpg: ${output}`, usage);
  const quality = integerArg('--quality', (values['quality'] as string | undefined) ?? '90', 1, 100, usage);
  // fail before the slide is read, not after
  try {
    await access(dirname(resolve(output)), constants.W_OK);
  } catch (e) {
    throw new ImageboxError('E_BAD_REQUEST', `cannot write ${output}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return { positionals, output, png: format === '.png', quality, headers: parseHeaders(values['header'] as string[]) };
}

async function encode(img: RGBA, png: boolean, quality: number): Promise<Uint8Array> {
  if (png) return encodePng(img);
  return encodeJpeg(await kernels(), img, { quality, subsampling: quality >= 90 ? '444' : '420' });
}

async function save(output: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(output, bytes);
  } catch (e) {
    throw new ImageboxError('E_BAD_REQUEST', `cannot write ${output}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export async function runRegion(argv: string[]): Promise<number> {
  const o = await parse(argv, 6, REGION_USAGE);
  const [where, xs, ys, ls, ws, hs] = o.positionals as [string, string, string, string, string, string];
  const x = integerArg('x', xs, -COORD, COORD, REGION_USAGE);
  const y = integerArg('y', ys, -COORD, COORD, REGION_USAGE);
  const level = integerArg('level', ls, 0, 64, REGION_USAGE);
  const w = integerArg('width', ws, 1, 1 << 16, REGION_USAGE);
  const h = integerArg('height', hs, 1, 1 << 16, REGION_USAGE);
  const slide = await openSlide(where, { source: { http: { headers: o.headers } } });
  try {
    const img = await slide.readRegion(x, y, level, w, h);
    await save(o.output, await encode(img, o.png, o.quality));
  } finally {
    await slide.close();
  }
  return 0;
}

export async function runTile(argv: string[]): Promise<number> {
  const o = await parse(argv, 4, TILE_USAGE);
  const [where, ls, cs, rs] = o.positionals as [string, string, string, string];
  const level = integerArg('level', ls, 0, 64, TILE_USAGE);
  const col = integerArg('col', cs, 0, 1 << 24, TILE_USAGE);
  const row = integerArg('row', rs, 0, 1 << 24, TILE_USAGE);
  const slide = await openSlide(where, { source: { http: { headers: o.headers } } });
  try {
    const t = await slide.tile(level, col, row);
    const full = t.validWidth === t.width && t.validHeight === t.height;
    if (!o.png && t.compression === Compression.Jpeg && !t.missing && full) {
      // Passthrough: the stored bytes, made a complete stream. Decode once to fail on a damaged tile.
      await slide.readTile(level, col, row);
      const jpeg = spliceJpeg(t.jpegTables, t.bytes, t.photometric === Photometric.Rgb);
      if (!jpeg) throw new ImageboxError('E_CORRUPT_TILE', `tile (${col}, ${row}) is not a JPEG stream`);
      await save(o.output, jpeg);
    } else {
      await save(o.output, await encode(await slide.readTile(level, col, row), o.png, o.quality));
    }
  } finally {
    await slide.close();
  }
  return 0;
}
