// The streaming BigTIFF writer (src/formats/tiff/tiff-writer.ts) read back by
// our own TIFF parser, and the JPEG tables/abbreviated-stream split it stores
// (src/codecs/jpeg-tables.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import { decodeJpeg } from '../../src/codecs/jpeg.js';
import { encodeJpeg } from '../../src/codecs/jpeg-encode.js';
import { sameBytes, splitJpegTables } from '../../src/codecs/jpeg-tables.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { MemorySource } from '../../src/io/memory-source.js';
import { imageInfo, nums, text } from '../../src/formats/tiff/ifd.js';
import { openTiff } from '../../src/formats/tiff/tiff-file.js';
import { Tag } from '../../src/formats/tiff/tags.js';
import { BigTiffWriter, FieldTypeId, imageFields, type TiffSink } from '../../src/formats/tiff/tiff-writer.js';

/** A sink into a growing in-memory file; counts writes. */
function memorySink(): TiffSink & { bytes(): Uint8Array; writes: number } {
  let buf = new Uint8Array(1024);
  let size = 0;
  const sink = {
    writes: 0,
    async write(data: Uint8Array, position: number) {
      sink.writes++;
      if (position + data.length > buf.length) {
        const next = new Uint8Array(Math.max(buf.length * 2, position + data.length));
        next.set(buf.subarray(0, size));
        buf = next;
      }
      buf.set(data, position);
      size = Math.max(size, position + data.length);
    },
    bytes: () => buf.slice(0, size),
  };
  return sink;
}

async function expectBad(p: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(isImageboxError(e, 'E_BAD_REQUEST'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an E_BAD_REQUEST');
}

describe('BigTiffWriter', () => {
  it('writes tiles and stripped images that our parser reads back, every segment in range', async () => {
    const sink = memorySink();
    const w = new BigTiffWriter(sink, { bufferBytes: 100 }); // a tiny buffer: flushes and direct writes
    // a 40x20 image in 16x16 tiles (3 x 2), tile i filled with byte i; one tile larger than the buffer
    const offsets: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const bytes = new Uint8Array(i === 4 ? 300 : 16 * 16 * 3).fill(i + 1);
      offsets.push(await w.append(bytes));
      counts.push(bytes.length);
    }
    expect(offsets[0]).toBe(16); // right after the BigTIFF header
    const stripAt = await w.append(new Uint8Array([9, 9, 9]));
    w.addDirectory(imageFields({ width: 40, height: 20, tile: [16, 16], compression: 1, photometric: 2, offsets, byteCounts: counts, description: 'Aperio Image Library test\r\n40x20|MPP = 0.5' }));
    w.addDirectory(imageFields({ width: 1, height: 1, compression: 1, photometric: 2, offsets: [stripAt], byteCounts: [3], newSubfileType: 1, description: 'x\nlabel 1x1' }));
    const res = await w.finish();
    const bytes = sink.bytes();
    expect(res.size).toBe(bytes.length);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x49, 0x49, 43, 0]);

    const tiff = await openTiff(new MemorySource(bytes));
    expect(tiff.bigTiff).toBe(true);
    expect(tiff.ifds.map((i) => i.offset)).toEqual(res.ifdOffsets);
    const a = imageInfo(tiff.ifds[0]!)!;
    expect([a.width, a.height, a.tiled, a.tileWidth, a.tileHeight, a.compression, a.samplesPerPixel, a.bitsPerSample]).toEqual([40, 20, true, 16, 16, 1, 3, 8]);
    expect(text(tiff.ifds[0]!, Tag.ImageDescription)).toBe('Aperio Image Library test\r\n40x20|MPP = 0.5');
    const all = (arr: { get(i: number): Promise<number> }) => Promise.all([0, 1, 2, 3, 4, 5].map((i) => arr.get(i)));
    expect(await all(a.offsets)).toEqual(offsets);
    expect(await all(a.byteCounts)).toEqual(counts);
    for (let i = 0; i < 6; i++) {
      expect(offsets[i]! + counts[i]!).toBeLessThanOrEqual(res.ifdOffsets[0]!);
      expect(bytes[offsets[i]!]).toBe(i + 1);
      expect(bytes[offsets[i]! + counts[i]! - 1]).toBe(i + 1);
    }
    const b = imageInfo(tiff.ifds[1]!)!;
    expect([b.tiled, b.width, b.height, b.subfileType]).toEqual([false, 1, 1, 1]);
    expect(Array.from(bytes.subarray(stripAt, stripAt + 3))).toEqual([9, 9, 9]);
  });

  it('writes 64-bit offsets (LONG8) and reads back values past 4 GB', async () => {
    const sink = memorySink();
    const w = new BigTiffWriter(sink);
    const at = await w.append(new Uint8Array(8));
    // a LONG8 value no 32-bit TIFF can hold (not a segment offset, so not checked against the data)
    w.addDirectory([
      { tag: Tag.ImageWidth, type: FieldTypeId.LONG, value: [1] },
      { tag: Tag.ImageLength, type: FieldTypeId.LONG, value: [1] },
      { tag: Tag.StripOffsets, type: FieldTypeId.LONG8, value: [at] },
      { tag: Tag.StripByteCounts, type: FieldTypeId.LONG, value: [8] },
      { tag: 65000, type: FieldTypeId.LONG8, value: [5 * 2 ** 30, 7] },
    ]);
    await w.finish();
    const tiff = await openTiff(new MemorySource(sink.bytes()));
    expect(nums(tiff.ifds[0]!, 65000)).toEqual([5 * 2 ** 30, 7]);
  });

  it('rejects bad input with E_BAD_REQUEST', async () => {
    const w = new BigTiffWriter(memorySink());
    const at = await w.append(new Uint8Array(10));
    expect(() => w.addDirectory([{ tag: 256, type: FieldTypeId.SHORT, value: [70000] }])).toThrow(/does not fit/);
    await expectBad(() => w.addDirectory([{ tag: 256, type: FieldTypeId.SHORT, value: [1.5] }]), /does not fit/);
    await expectBad(() => w.addDirectory([{ tag: 256, type: FieldTypeId.LONG, value: [-1] }]), /does not fit/);
    await expectBad(() => w.addDirectory([{ tag: 256, type: FieldTypeId.LONG, value: [] }]), /no values/);
    await expectBad(() => w.addDirectory([{ tag: 270, type: FieldTypeId.ASCII, value: 'µm' }]), /non-ASCII/);
    await expectBad(() => w.addDirectory([{ tag: 256, type: FieldTypeId.LONG, value: [1] }, { tag: 256, type: FieldTypeId.LONG, value: [2] }]), /twice/);
    await expectBad(() => w.addDirectory([{ tag: 0, type: FieldTypeId.LONG, value: [1] }]), /bad tag/);
    await expectBad(() => w.addDirectory([]), /needs fields/);
    await expectBad(() => w.addDirectory([{ tag: 324, type: FieldTypeId.LONG8, value: [16, 20] }, { tag: 325, type: FieldTypeId.LONG, value: [1] }]), /same number/);
    await expectBad(() => w.append('abc' as unknown as Uint8Array), /Uint8Array/);
    // segments must lie inside the data written
    await expectBad(() => imageFields({ width: 40, height: 20, tile: [16, 16], compression: 1, photometric: 2, offsets: [at], byteCounts: [10] }), /needs 6 offsets/);
    await expectBad(() => imageFields({ width: 40, height: 20, tile: [20, 20], compression: 1, photometric: 2, offsets: [at, at], byteCounts: [1, 1] }), /multiple of 16/);
    await expectBad(() => imageFields({ width: 0, height: 20, compression: 1, photometric: 2, offsets: [at], byteCounts: [1] }), /width 0/);
    w.addDirectory(imageFields({ width: 1, height: 1, compression: 1, photometric: 2, offsets: [at], byteCounts: [11] }));
    await expectBad(w.finish(), /outside the data written/);

    const empty = new BigTiffWriter(memorySink());
    await expectBad(empty.finish(), /no image directory/);
    const done = new BigTiffWriter(memorySink());
    const p = await done.append(new Uint8Array(3));
    done.addDirectory(imageFields({ width: 1, height: 1, compression: 1, photometric: 2, offsets: [p], byteCounts: [3] }));
    await done.finish();
    await expectBad(done.append(new Uint8Array(1)), /already finished/);
    await expectBad(() => new BigTiffWriter(memorySink(), { bufferBytes: 0 }), /bufferBytes/);
  });

  it('a failed sink write poisons the writer', async () => {
    const w = new BigTiffWriter({ write: async () => Promise.reject(new Error('disk full')) }, { bufferBytes: 4 });
    await expect(w.append(new Uint8Array(8))).rejects.toThrow('disk full');
    await expectBad(w.append(new Uint8Array(1)), /earlier write failed/);
  });
});

describe('splitJpegTables', () => {
  let k: Kernels;
  beforeAll(async () => {
    k = await kernels();
  });
  const image = (seed: number) => {
    const data = new Uint8Array(64 * 48 * 4);
    for (let i = 0; i < 64 * 48; i++) {
      data[i * 4] = (i * seed) & 255;
      data[i * 4 + 1] = (i >> 3) & 255;
      data[i * 4 + 2] = (seed * 40) & 255;
      data[i * 4 + 3] = 255;
    }
    return { width: 64, height: 48, data };
  };

  it('gives tables-only JPEGTables, the same for every image at one quality, and abbreviated streams that decode to the same pixels', () => {
    const a = encodeJpeg(k, image(3), { quality: 85 });
    const b = encodeJpeg(k, image(7), { quality: 85 });
    const sa = splitJpegTables(a);
    const sb = splitJpegTables(b);
    expect(sameBytes(sa.tables, sb.tables)).toBe(true);
    expect(sameBytes(sa.stream, sb.stream)).toBe(false);
    const markers = (x: Uint8Array) => {
      const m: number[] = [];
      for (let p = 2; p + 4 <= x.length && x[p] === 0xff; ) {
        m.push(x[p + 1]!);
        if (x[p + 1] === 0xda || x[p + 1] === 0xd9) break;
        p += 2 + ((x[p + 2]! << 8) | x[p + 3]!);
      }
      return m;
    };
    expect(new Set(markers(sa.tables))).toEqual(new Set([0xdb, 0xc4])); // DQT, DHT
    expect(Array.from(sa.tables.subarray(-2))).toEqual([0xff, 0xd9]);
    expect(markers(sa.stream)).toEqual([0xc0, 0xda]); // SOF0, SOS: no APP0, DQT, DHT
    expect(Array.from(sa.stream.subarray(-2))).toEqual([0xff, 0xd9]);
    // a different quality has different tables
    expect(sameBytes(splitJpegTables(encodeJpeg(k, image(3), { quality: 60 })).tables, sa.tables)).toBe(false);
    const whole = decodeJpeg(k, a, { colorTransform: 'ycbcr' });
    const split = decodeJpeg(k, sa.stream, { tables: sa.tables, colorTransform: 'ycbcr' });
    expect(sameBytes(split.data, whole.data)).toBe(true);
    // and without the tables the stream cannot be decoded
    expect(() => decodeJpeg(k, sa.stream)).toThrow(/not defined/);
  });

  it('rejects what is not a complete JPEG with E_BAD_REQUEST', async () => {
    const a = encodeJpeg(k, image(3), { quality: 85 });
    await expectBad(() => splitJpegTables(new Uint8Array([1, 2, 3, 4])), /no SOI/);
    await expectBad(() => splitJpegTables(a.subarray(0, a.length - 2)), /no EOI/);
    const { stream } = splitJpegTables(a);
    await expectBad(() => splitJpegTables(stream), /no DQT\/DHT/);
    const broken = a.slice();
    broken[2] = 0x00;
    await expectBad(() => splitJpegTables(broken), /no marker/);
  });
});
