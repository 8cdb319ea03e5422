// The baseline JPEG encoder and the PNG encoder, checked by decoding with sharp
// (libvips/libjpeg-turbo/libspng) on a real tissue tile and synthetic images.
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../src/codecs/kernels-node.js';
import type { Kernels } from '../../src/codecs/kernels.js';
import { encodeJpeg } from '../../src/codecs/jpeg-encode.js';
import { crc32, encodePng } from '../../src/codecs/png-encode.js';
import type { RGBA } from '../../src/contracts/pixels.js';
import { colourError } from '../helpers/pixels.js';

const TISSUE = fileURLToPath(new URL('../fixtures/lzw/bigtiff-deflate-L1-c0r0.png', import.meta.url)); // 512x512 lossless tissue tile

let k: Kernels;
let tissue: RGBA;
beforeAll(async () => {
  k = await kernels();
  const { data, info } = await sharp(TISSUE).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  tissue = { width: info.width, height: info.height, data: new Uint8Array(data) };
});

async function decode(jpeg: Uint8Array) {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), info };
}

/** PSNR over RGB of `a` (RGBA) vs decoded `b` (channels c). */
function psnr(a: RGBA, b: Uint8Array, c: number): number {
  return colourError(a.data, 4, b, c, a.width * a.height).psnr;
}

function crop(img: RGBA, w: number, h: number): RGBA {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * 4, (y * img.width + w) * 4), y * w * 4);
  return { width: w, height: h, data };
}

describe('JPEG encoder', () => {
  it('writes a valid JFIF file (SOI, APP0 "JFIF", SOF0 baseline, EOI)', async () => {
    const j = encodeJpeg(k, tissue, { quality: 90 });
    expect(Array.from(j.subarray(0, 4))).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect(new TextDecoder().decode(j.subarray(6, 10))).toBe('JFIF');
    expect(Array.from(j.subarray(-2))).toEqual([0xff, 0xd9]);
    const sof = j.findIndex((v, i) => v === 0xff && j[i + 1] === 0xc0);
    expect(sof).toBeGreaterThan(0);
    const meta = await sharp(j).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.chromaSubsampling).toBe('4:2:0');
    expect(meta.isProgressive).toBe(false);
  });
  for (const subsampling of ['420', '444'] as const) {
    it(`tissue tile 512x512 at Q90 ${subsampling}: PSNR >= 35 dB`, async () => {
      const j = encodeJpeg(k, tissue, { quality: 90, subsampling });
      const { data, info } = await decode(j);
      expect([info.width, info.height, info.channels]).toEqual([512, 512, 3]);
      const p = psnr(tissue, data, 3);
      expect(p).toBeGreaterThanOrEqual(35);
      if (subsampling === '444') expect((await sharp(j).metadata()).chromaSubsampling).toBe('4:4:4');
    });
  }
  it('our PSNR is within 1 dB of sharp (libjpeg-turbo) at the same quality', async () => {
    for (const [q, sub] of [[90, '420'], [75, '444']] as const) {
      const ours = psnr(tissue, (await decode(encodeJpeg(k, tissue, { quality: q, subsampling: sub }))).data, 3);
      const ref = await sharp(tissue.data, { raw: { width: 512, height: 512, channels: 4 } }).removeAlpha().jpeg({ quality: q, chromaSubsampling: sub === '420' ? '4:2:0' : '4:4:4' }).toBuffer();
      const theirs = psnr(tissue, (await decode(new Uint8Array(ref))).data, 3);
      expect(Math.abs(ours - theirs)).toBeLessThan(1);
    }
  });
  it('odd sizes (edge replication) decode with the right dimensions and quality', async () => {
    for (const [w, h] of [[1, 1], [17, 9], [33, 31], [255, 130]] as const) {
      const img = crop(tissue, w, h);
      for (const subsampling of ['420', '444'] as const) {
        const { data, info } = await decode(encodeJpeg(k, img, { quality: 95, subsampling }));
        expect([info.width, info.height]).toEqual([w, h]);
        expect(psnr(img, data, 3)).toBeGreaterThan(w * h < 10 ? 25 : 33);
      }
    }
  });
  it('grey JPEG has one channel equal to the ITU-R 601 luma', async () => {
    const j = encodeJpeg(k, tissue, { quality: 95, grey: true });
    expect((await sharp(j).metadata()).channels).toBe(1);
    const { data, info } = await decode(j);
    const c = info.channels;
    const luma = new Uint8Array(512 * 512);
    for (let i = 0; i < luma.length; i++) luma[i] = (tissue.data[i * 4]! * 19595 + tissue.data[i * 4 + 1]! * 38470 + tissue.data[i * 4 + 2]! * 7471 + 32768) >> 16;
    let se = 0;
    for (let i = 0; i < luma.length; i++) se += (luma[i]! - data[i * c]!) ** 2;
    expect(10 * Math.log10((255 * 255) / (se / luma.length))).toBeGreaterThan(38);
  });
  it('a flat colour survives within 2; quality 1..100 all decode, size grows with quality', async () => {
    const flat: RGBA = { width: 40, height: 24, data: new Uint8Array(40 * 24 * 4) };
    for (let i = 0; i < 960; i++) flat.data.set([200, 60, 120, 255], i * 4);
    const { data } = await decode(encodeJpeg(k, flat, { quality: 90, subsampling: '444' }));
    for (let i = 0; i < 960; i++) {
      expect(Math.abs(data[i * 3]! - 200)).toBeLessThanOrEqual(2);
      expect(Math.abs(data[i * 3 + 1]! - 60)).toBeLessThanOrEqual(2);
      expect(Math.abs(data[i * 3 + 2]! - 120)).toBeLessThanOrEqual(2);
    }
    let last = 0;
    for (const q of [1, 10, 50, 80, 100]) {
      const j = encodeJpeg(k, tissue, { quality: q });
      expect((await sharp(j).metadata()).width).toBe(512);
      expect(j.length).toBeGreaterThan(last);
      last = j.length;
    }
  });
  it('noise at Q100 outgrows the first output guess and is retried to the exact size', async () => {
    const noise: RGBA = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 4) };
    let s = 1;
    for (let i = 0; i < noise.data.length; i++) noise.data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const j = encodeJpeg(k, noise, { quality: 100, subsampling: '444' });
    expect(j.length).toBeGreaterThan(64 * 64 * 2 + 1024);
    expect((await decode(j)).info.width).toBe(64);
  });
  it('SIMD and scalar forward DCT give byte-identical files', () => {
    for (const [w, h] of [[512, 512], [33, 17]] as const) {
      const img = crop(tissue, w, h);
      for (const o of [{ quality: 90 }, { quality: 50, subsampling: '444' as const }, { quality: 97, grey: true }]) {
        const a = encodeJpeg(k, img, { ...o, simd: true });
        const b = encodeJpeg(k, img, { ...o, simd: false });
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      }
    }
  });
  it('PSNR rises with quality (10 < 50 < 75 < 90 < 100)', async () => {
    let last = 0;
    for (const q of [10, 50, 75, 90, 100]) {
      const p = psnr(tissue, (await decode(encodeJpeg(k, tissue, { quality: q }))).data, 3);
      expect(p).toBeGreaterThan(last);
      last = p;
    }
  });
  it('rejects empty and oversized images', () => {
    expect(() => encodeJpeg(k, { width: 0, height: 1, data: new Uint8Array(0) })).toThrowError(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
    expect(() => encodeJpeg(k, { width: 70000, height: 1, data: new Uint8Array(280000) })).toThrowError(expect.objectContaining({ code: 'E_TOO_LARGE' }));
  });
});

describe('PNG encoder', () => {
  it('CRC-32 of "IEND" and "123456789"', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
  it('opaque tissue tile -> RGB PNG, lossless through sharp', async () => {
    const png = await encodePng(tissue);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([512, 512, 3]);
    for (let i = 0; i < 512 * 512; i++) {
      if (data[i * 3] !== tissue.data[i * 4] || data[i * 3 + 1] !== tissue.data[i * 4 + 1] || data[i * 3 + 2] !== tissue.data[i * 4 + 2]) throw new Error(`pixel ${i} differs`);
    }
  });
  it('transparent pixels -> RGBA PNG, lossless; forced channels work', async () => {
    const img = crop(tissue, 37, 21);
    for (let i = 0; i < 37 * 21; i += 3) img.data[i * 4 + 3] = i % 256;
    const png = await encodePng(img);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect(Buffer.from(data).equals(Buffer.from(img.data))).toBe(true);
    const rgb = await sharp(await encodePng(img, { channels: 3 })).metadata();
    expect(rgb.channels).toBe(3);
  });
});
