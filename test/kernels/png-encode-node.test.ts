// PNG through zlib (Node) is the same format as through CompressionStream: lossless, readable by libpng.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../src/codecs/png-encode.js';
import { encodePngNode } from '../../src/codecs/png-encode-node.js';

function image(w: number, h: number, opaque: boolean) {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 255;
  if (opaque) for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width: w, height: h, data };
}

describe('encodePngNode', () => {
  for (const opaque of [true, false]) {
    it(`round-trips ${opaque ? 'RGB' : 'RGBA'} losslessly through sharp, like the CompressionStream path`, async () => {
      const img = image(97, 61, opaque);
      const [viaZlib, viaStream] = await Promise.all([encodePngNode(img), encodePng(img)]);
      for (const png of [viaZlib, viaStream]) {
        const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height]).toEqual([97, 61]);
        expect(Buffer.compare(data, Buffer.from(img.data))).toBe(0);
      }
    });
  }
});
