// The viewer's ICC splice (web/src/icc-jpeg.ts): a JPEG tile with the slide's
// profile in APP2 segments is still the same image, and libvips (sharp) reads the
// very profile back out of it, across several segments too.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/codecs/jpeg.js';
import { kernels } from '../../src/codecs/kernels-node.js';
import { iccSegments, withIcc } from '../../web/src/icc-jpeg.js';

const DICOM = fileURLToPath(new URL('../fixtures/dicom/', import.meta.url));

describe('ICC profile spliced into a JPEG tile', () => {
  it('sharp reads the profile back; the pixels are unchanged', async () => {
    const icc = new Uint8Array(readFileSync(`${DICOM}icc/prophoto.icc`));
    const jpeg = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 100, b: 50 } } }).jpeg().toBuffer());
    const tagged = withIcc(jpeg, iccSegments(icc));
    const meta = await sharp(tagged).metadata();
    expect(Buffer.from(meta.icc!).equals(Buffer.from(icc))).toBe(true);
    // the coded samples are the same (our decoder ignores APP2); sharp, which colour-manages, sees other colours
    const k = await kernels();
    expect(Buffer.from(decodeJpeg(k, tagged).data).equals(Buffer.from(decodeJpeg(k, jpeg).data))).toBe(true);
    expect((await sharp(tagged).raw().toBuffer()).equals(await sharp(jpeg).raw().toBuffer())).toBe(false);
  });

  it('a profile larger than one segment is split in order (sequence numbers 1..n of n) and read back whole', async () => {
    const big = new Uint8Array(150_000);
    const icc = new Uint8Array(readFileSync(`${DICOM}icc/prophoto.icc`));
    big.set(icc);
    // keep a valid profile header: its size field says the profile's length
    new DataView(big.buffer).setUint32(0, big.length);
    const segs = iccSegments(big)!;
    expect([segs[16], segs[17]]).toEqual([1, 3]);
    const jpeg = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg().toBuffer());
    const meta = await sharp(withIcc(jpeg, segs)).metadata();
    expect(meta.icc?.length).toBe(big.length);
    expect(withIcc(new Uint8Array([1, 2, 3]), segs)).toEqual(new Uint8Array([1, 2, 3]));
    expect(iccSegments(new Uint8Array(0))).toBeUndefined();
  });
});
