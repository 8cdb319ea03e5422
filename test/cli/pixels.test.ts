// `imagebox region` / `imagebox tile` as a user runs them (built CLI, child process).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fixture, fixturePath, WSI_DIR } from '../helpers/fixtures.js';
import { compare, decodeImage, loadPng } from '../helpers/pixels.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'imagebox-cli-'));

async function cli(...args: string[]) {
  try {
    const r = await run(process.execPath, [CLI, ...args]);
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const ref = (file: string, name: string) => fixture(file).openslide.references!.find((r) => r.name === name)!;

describe('imagebox region / tile', () => {
  it('region (openslide-write-png argument order) writes the reference region as PNG', async () => {
    const r = ref('aperio-jpeg.svs', 'L0_straddle');
    const [x, y] = r.args['location'] as [number, number];
    const [w, h] = r.args['size'] as [number, number];
    const png = join(out, 'straddle.png');
    const res = await cli('region', fixturePath('aperio-jpeg.svs'), String(x), String(y), String(r.args['level']), String(w), String(h), '-o', png);
    expect(res.code).toBe(0);
    const got = await loadPng(png);
    const want = await loadPng(WSI_DIR + r.png);
    expect([got.width, got.height]).toEqual([w, h]);
    expect(compare(got, want, true).psnr).toBeGreaterThanOrEqual(40);
  });

  it('tile -o .jpg of an Aperio RGB JPEG tile is the stored bytes with tables and an Adobe marker, decoding to the reference', async () => {
    const jpg = join(out, 'tile.jpg');
    const res = await cli('tile', fixturePath('aperio-jpeg.svs'), '0', '3', '2', '-o', jpg);
    expect(res.code).toBe(0);
    const bytes = readFileSync(jpg);
    expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0xd8, 0xff, 0xee]); // SOI, APP14 Adobe (transform 0)
    const want = await loadPng(WSI_DIR + ref('aperio-jpeg.svs', 'L0_tile_c3_r2').png);
    const got = await decodeImage(bytes);
    expect(compare(got, want, false).psnr).toBeGreaterThanOrEqual(40);
  });

  it('tile -o .png of an LZW tile is its reference, bit-exact (lossless)', async () => {
    const png = join(out, 'lzw.png');
    expect((await cli('tile', fixturePath('generic-lzw-predictor.tif'), '0', '1', '1', '-o', png)).code).toBe(0);
    const got = await loadPng(png);
    const want = await loadPng(WSI_DIR + ref('generic-lzw-predictor.tif', 'L0_tile_c1_r1').png);
    expect([got.width, got.height]).toEqual([want.width, want.height]);
    expect(compare(got, want, false).maxDiff).toBe(0);
  });

  it('a damaged tile exits non-zero with E_CORRUPT_TILE', async () => {
    const res = await cli('tile', fixturePath('openslide/unreadable.svs'), '0', '0', '0', '-o', join(out, 'bad.jpg'));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/E_CORRUPT_TILE/);
    const region = await cli('region', fixturePath('openslide/unreadable.svs'), '0', '0', '0', '16', '16', '-o', join(out, 'bad.png'));
    expect(region.code).toBe(1);
    expect(region.stderr).toMatch(/E_CORRUPT_TILE/);
  });

  it('region takes negative coordinates (OpenSlide read_region): outside the image is transparent', async () => {
    const png = join(out, 'negative.png');
    const res = await cli('region', fixturePath('aperio-jpeg.svs'), '-100', '-100', '0', '300', '300', '-o', png);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const img = await loadPng(png);
    expect([img.width, img.height]).toEqual([300, 300]);
    expect(img.data[3]).toBe(0); // (0, 0) is at (-100, -100): transparent
    expect(img.data[(150 * 300 + 150) * 4 + 3]).toBe(255); // (50, 50) of the slide: opaque
  });

  const stack = /\n\s+at .*:\d+/;
  it('usage errors: one message, exit 2, no stack', async () => {
    const cases: [string[], RegExp][] = [
      [['tile', fixturePath('aperio-jpeg.svs'), '0', 'x', '2', '-o', join(out, 'a.jpg')], /col must be an integer/],
      [['tile', fixturePath('aperio-jpeg.svs'), '0', '99', '2', '-o', join(out, 'a.jpg')], /E_BAD_REQUEST: no tile/],
      [['region', fixturePath('aperio-jpeg.svs'), '0', '0', '0', '10', '10', '-o', join(out, 'q.jpg'), '--quality', '500'], /--quality must be an integer from 1 to 100/],
      [['region', fixturePath('aperio-jpeg.svs'), '0', '0', '0', '10', '10', '-o', join(out, 'q.jpg'), '--bogus'], /unknown option --bogus/],
      [['region', fixturePath('aperio-jpeg.svs'), '0', '0', '0', '10', '10', '-o', '/nonexistent-dir/x.png'], /cannot write \/nonexistent-dir\/x\.png: ENOENT/],
      [['region', fixturePath('aperio-jpeg.svs'), '0', '0', '0', '10', '-o', join(out, 'q.jpg')], /expected 6 arguments/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['serve', '--port', 'http'], /--port must be an integer/],
    ];
    for (const [args, message] of cases) {
      const res = await cli(...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr, args.join(' ')).toMatch(message);
      expect(res.stderr, args.join(' ')).not.toMatch(stack);
    }
  });
});
