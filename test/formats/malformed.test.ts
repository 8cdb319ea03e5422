// Bad input: every damaged or hostile file gives a typed error, fast, without
// unbounded allocation; nothing hangs.
import { describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import type { ByteSource } from '../../src/io/byte-source.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { FileSource } from '../../src/io/file-source.js';
import { openSlide } from '../../src/slide/open-slide.js';
import { fixturePath, truncatedAperio } from '../helpers/fixtures.js';
import { buildTiff, tiledImage } from '../helpers/tiff-builder.js';

async function openError(bytes: Uint8Array): Promise<{ code: string; message: string }> {
  try {
    await openSlide(new MemorySource(bytes));
  } catch (e) {
    if (isImageboxError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('opened without error');
}

describe('malformed files', () => {
  it('a well-formed hand-built tiled TIFF opens (the builder itself is sound)', async () => {
    const slide = await openSlide(new MemorySource(buildTiff([tiledImage(64, 48)])));
    expect(slide.levels.map((l) => [l.width, l.height, l.cols, l.rows])).toEqual([[64, 48, 4, 3]]);
    const t = await slide.tile(0, 3, 2);
    expect(t.bytes.length).toBe(1);
  });

  it('the truncated Aperio fixture: E_TRUNCATED naming the next-IFD pointer past EOF', async () => {
    const e = await openError(truncatedAperio());
    expect(e.code).toBe('E_TRUNCATED');
    expect(e.message).toMatch(/past the end of the file/);
  });

  it('OpenSlide unopenable.tiff: E_NOT_A_SLIDE with the unsupported compression', async () => {
    await expect(openSlide(new FileSource(fixturePath('openslide/unopenable.tiff')))).rejects.toMatchObject({
      code: 'E_NOT_A_SLIDE',
      message: expect.stringContaining('52479'),
    });
  });

  it('garbage bytes: E_NOT_A_SLIDE', async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 7919) & 255);
    expect((await openError(junk)).code).toBe('E_NOT_A_SLIDE');
    expect((await openError(new Uint8Array(3))).code).toBe('E_NOT_A_SLIDE');
    expect((await openError(new TextEncoder().encode('<html>not found</html>'))).code).toBe('E_NOT_A_SLIDE');
  });

  it('a cyclic IFD chain: E_MALFORMED, no hang', async () => {
    const bytes = buildTiff([tiledImage(32, 32), tiledImage(16, 16)], { nextOverride: [undefined as never, 8] });
    const e = await openError(bytes);
    expect(e.code).toBe('E_MALFORMED');
    expect(e.message).toMatch(/loops/);
  });

  it('an IFD pointing at itself: E_MALFORMED', async () => {
    const bytes = buildTiff([tiledImage(32, 32)], { nextOverride: [8] });
    expect((await openError(bytes)).code).toBe('E_MALFORMED');
  });

  it('a value offset past the end of the file: E_TRUNCATED', async () => {
    const img = tiledImage(64, 64, 16).map((e) => (e.tag === 324 ? { ...e, offset: 10_000_000 } : e));
    expect((await openError(buildTiff([img]))).code).toBe('E_TRUNCATED');
  });

  it('an absurd tag count: E_MALFORMED before any allocation', async () => {
    const img = tiledImage(32, 32).map((e) => (e.tag === 325 ? { ...e, count: 0x7fffffff } : e));
    const e = await openError(buildTiff([img]));
    expect(e.code).toBe('E_MALFORMED');
    expect(e.message).toMatch(/claims/);
  });

  it('an offset array of more entries than any slide has (in a file big enough to hold it): E_TOO_LARGE, nothing allocated', async () => {
    // A source that claims 1 TB: counts are checked against the size, and capped on their own.
    const real = buildTiff([tiledImage(32, 32).map((e) => (e.tag === 324 ? { ...e, count: 1 << 28, offset: 4096 } : e))]);
    const huge: ByteSource = {
      id: 'huge',
      size: async () => 2 ** 40,
      read: async (ranges) => ranges.map(({ offset, length }) => {
        const out = new Uint8Array(length);
        out.set(real.subarray(Math.min(offset, real.length), Math.min(offset + length, real.length)));
        return out;
      }),
    };
    await expect(openSlide(huge)).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
  });

  it('a first IFD past the end of the file: E_TRUNCATED', async () => {
    const bytes = buildTiff([tiledImage(32, 32)]);
    new DataView(bytes.buffer).setUint32(4, 1 << 30, true);
    expect((await openError(bytes)).code).toBe('E_TRUNCATED');
  });

  it('an IFD claiming 60,000 entries: E_MALFORMED', async () => {
    const bytes = new Uint8Array(800_000);
    bytes.set([0x49, 0x49, 42, 0, 8, 0, 0, 0], 0);
    new DataView(bytes.buffer).setUint16(8, 60_000, true);
    expect((await openError(bytes)).code).toBe('E_MALFORMED');
  });

  it('a TIFF without image size or offsets: E_NOT_A_SLIDE', async () => {
    const bytes = buildTiff([[{ tag: 270, type: 2, values: new TextEncoder().encode('hello\0') }]]);
    expect((await openError(bytes)).code).toBe('E_NOT_A_SLIDE');
  });

  it('a tile whose bytes lie past the end of the file: E_TRUNCATED on read, the slide stays usable', async () => {
    const img = tiledImage(32, 16, 16).map((e) => (e.tag === 324 ? { ...e, values: [8, 9_000_000] } : e));
    const slide = await openSlide(new MemorySource(buildTiff([img])));
    await expect(slide.tile(0, 1, 0)).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    expect((await slide.tile(0, 0, 0)).bytes.length).toBe(1);
  });

  it('tile coordinates outside the grid: E_BAD_REQUEST', async () => {
    const slide = await openSlide(new MemorySource(buildTiff([tiledImage(32, 16, 16)])));
    for (const [l, c, r] of [
      [0, 2, 0],
      [0, 0, 1],
      [1, 0, 0],
      [0, -1, 0],
      [0, 0.5, 0],
    ] as const) {
      await expect(slide.tile(l, c, r)).rejects.toSatisfy((e: unknown) => isImageboxError(e, 'E_BAD_REQUEST'));
    }
  });

  it('a big-endian hand-built TIFF opens like the little-endian one', async () => {
    const slide = await openSlide(new MemorySource(buildTiff([tiledImage(40, 24, 16)], { little: false })));
    expect(slide.levels[0]).toMatchObject({ width: 40, height: 24, cols: 3, rows: 2 });
    expect((await slide.tile(0, 2, 1)).validWidth).toBe(8);
  });
});
