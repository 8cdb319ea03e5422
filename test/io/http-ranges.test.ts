import { describe, expect, it } from 'vitest';
import { ImageboxError } from '../../src/errors.js';
import { multipartBoundary, parseContentRange, parseMultipart, rangeHeader } from '../../src/io/http-ranges.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cat = (...parts: (string | Uint8Array)[]): Uint8Array => {
  const bufs = parts.map((p) => (typeof p === 'string' ? enc(p) : p));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
};
const text = (u: Uint8Array): string => new TextDecoder().decode(u);

describe('http-ranges', () => {
  it('formats Range and parses Content-Range', () => {
    expect(rangeHeader([{ offset: 0, length: 10 }, { offset: 100, length: 1 }])).toBe('bytes=0-9,100-100');
    expect(parseContentRange('bytes 0-9/100')).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ start: 5, end: 9, total: undefined });
    expect(parseContentRange('bytes 9-5/100')).toBeUndefined();
    expect(parseContentRange('bytes 0-100/100')).toBeUndefined();
    expect(parseContentRange('bytes 0-99999999999999999/100')).toBeUndefined();
    expect(parseContentRange('items 0-9/100')).toBeUndefined();
  });

  it('finds the boundary, quoted or not', () => {
    expect(multipartBoundary('multipart/byteranges; boundary=abc')).toBe('abc');
    expect(multipartBoundary('Multipart/ByteRanges; charset=x; boundary="a b;c"')).toBe('a b;c');
    expect(multipartBoundary('multipart/mixed; boundary=abc')).toBeUndefined();
    expect(multipartBoundary('application/octet-stream')).toBeUndefined();
  });

  it('parses CRLF parts with a preamble, any order, boundary-like bytes inside data', () => {
    const body = cat(
      'preamble text\r\n--XYZ\r\nContent-Type: a/b\r\nContent-Range: bytes 10-19/100\r\n\r\n',
      '\r\n--XYZ\r\n-',
      '\r\n--XYZ\r\ncontent-range: bytes 0-3/100\r\n\r\n',
      'abcd',
      '\r\n--XYZ--\r\nepilogue',
    );
    const parts = parseMultipart(body, 'XYZ');
    expect(parts.map((p) => [p.offset, text(p.data), p.total])).toEqual([
      [10, '\r\n--XYZ\r\n-', 100],
      [0, 'abcd', 100],
    ]);
  });

  it('accepts bare LF line breaks and a missing close delimiter', () => {
    const body = cat('--b\nContent-Range: bytes 1-2/3\n\nxy\n--b\nContent-Range: bytes 0-0/3\n\nz\r\n');
    const parts = parseMultipart(body, 'b');
    expect(parts.map((p) => [p.offset, text(p.data)])).toEqual([
      [1, 'xy'],
      [0, 'z'],
    ]);
  });

  it('rejects malformed bodies with E_ORIGIN', () => {
    const bad = [
      'no boundary here',
      '--b\r\nContent-Type: x\r\n\r\nabc\r\n--b--',
      '--b\r\nContent-Range: bytes 0-9/10\r\n\r\nshort\r\n--b--',
      '--b\r\nContent-Range: bytes 0-1/10\r\n\r\nabJUNK--b--',
    ];
    for (const b of bad) {
      let err: unknown;
      try {
        parseMultipart(enc(b), 'b');
      } catch (e) {
        err = e;
      }
      expect(err, b).toBeInstanceOf(ImageboxError);
      expect((err as ImageboxError).code).toBe('E_ORIGIN');
    }
  });
});
