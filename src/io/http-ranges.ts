// Pure helpers for HTTP range requests: the Range header, Content-Range, and
// multipart/byteranges bodies (RFC 9110 §14). No I/O here.
import { ImageboxError } from '../errors.js';
import type { ByteRange } from './byte-source.js';

/** `bytes=a-b,c-d` for ranges (inclusive ends on the wire). */
export function rangeHeader(ranges: readonly ByteRange[]): string {
  return 'bytes=' + ranges.map((r) => `${r.offset}-${r.offset + r.length - 1}`).join(',');
}

export interface ContentRange {
  /** First byte (inclusive). */
  start: number;
  /** Last byte (inclusive). */
  end: number;
  /** Total size, undefined for `*`. */
  total: number | undefined;
}

const DIGITS = /^\d{1,16}$/;

function int(s: string): number | undefined {
  if (!DIGITS.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parse `bytes a-b/total` (or `bytes a-b/*`); undefined when malformed. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  const start = int(m[1]!);
  const end = int(m[2]!);
  const total = m[3] === '*' ? undefined : int(m[3]!);
  if (start === undefined || end === undefined || end < start) return undefined;
  if (m[3] !== '*' && (total === undefined || end >= total)) return undefined;
  return { start, end, total };
}

/** The complete length in a 416's `bytes *\/total`, if any. */
export function parseUnsatisfiedRange(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(value);
  return m ? int(m[1]!) : undefined;
}

/** The boundary of a `multipart/byteranges` Content-Type, else undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/byteranges\s*(;|$)/i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.){1,200})"|([^\s;,"]{1,200}))/i.exec(contentType);
  if (!m) return undefined;
  const b = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
  return b.length > 0 && b.length <= 200 ? b : undefined;
}

export interface BytePart {
  /** Offset of data[0] in the source. */
  offset: number;
  data: Uint8Array;
  total: number | undefined;
}

const CR = 13;
const LF = 10;
const DASH = 45;

function bad(msg: string): ImageboxError {
  return new ImageboxError('E_ORIGIN', `malformed multipart/byteranges body: ${msg}`);
}

function startsWith(buf: Uint8Array, at: number, pat: Uint8Array): boolean {
  if (at + pat.length > buf.length) return false;
  for (let i = 0; i < pat.length; i++) if (buf[at + i] !== pat[i]) return false;
  return true;
}

function indexOf(buf: Uint8Array, pat: Uint8Array, from: number): number {
  const first = pat[0]!;
  for (let i = buf.indexOf(first, from); i !== -1 && i + pat.length <= buf.length; i = buf.indexOf(first, i + 1)) {
    if (startsWith(buf, i, pat)) return i;
  }
  return -1;
}

/** Position after a line break (CRLF or bare LF) at `at`, or -1. */
function eol(buf: Uint8Array, at: number): number {
  if (buf[at] === CR && buf[at + 1] === LF) return at + 2;
  if (buf[at] === LF) return at + 1;
  return -1;
}

/**
 * Parse a multipart/byteranges body. Each part's length comes from its
 * Content-Range (so boundary-like bytes inside the data are harmless); line
 * breaks may be CRLF or bare LF; a preamble and an epilogue are ignored.
 * Returned part data are views into `body`.
 */
export function parseMultipart(body: Uint8Array, boundary: string): BytePart[] {
  const delim = new TextEncoder().encode('--' + boundary);
  const dec = new TextDecoder('latin1');
  // The first delimiter is at the very start or after a line break (preamble).
  let pos: number;
  if (startsWith(body, 0, delim)) pos = 0;
  else {
    pos = -1;
    for (let i = indexOf(body, delim, 0); i !== -1; i = indexOf(body, delim, i + 1)) {
      if (body[i - 1] === LF) {
        pos = i;
        break;
      }
    }
    if (pos < 0) throw bad('no boundary');
  }
  const parts: BytePart[] = [];
  for (;;) {
    pos += delim.length;
    if (body[pos] === DASH && body[pos + 1] === DASH) return parts; // close delimiter
    // Transport padding (spaces/tabs) then a line break.
    while (body[pos] === 32 || body[pos] === 9) pos++;
    let next = eol(body, pos);
    if (next < 0) throw bad('no line break after boundary');
    pos = next;
    // Part headers up to an empty line.
    let range: ContentRange | undefined;
    for (let lines = 0; ; lines++) {
      if (lines > 64) throw bad('too many part headers');
      const blank = eol(body, pos);
      if (blank >= 0) {
        pos = blank;
        break;
      }
      let end = body.indexOf(LF, pos);
      if (end < 0 || end - pos > 8192) throw bad('unterminated part header');
      const line = dec.decode(body.subarray(pos, body[end - 1] === CR ? end - 1 : end));
      pos = end + 1;
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-range') {
        range = parseContentRange(line.slice(colon + 1));
        if (!range) throw bad('bad Content-Range in part');
      }
    }
    if (!range) throw bad('part without Content-Range');
    const len = range.end - range.start + 1;
    if (pos + len > body.length) throw bad('part runs past the end of the body');
    parts.push({ offset: range.start, data: body.subarray(pos, pos + len), total: range.total });
    pos += len;
    // A line break, then the next delimiter.
    next = eol(body, pos);
    if (next >= 0 && startsWith(body, next, delim)) {
      pos = next;
      continue;
    }
    // Tolerate a body that stops after the last part without its close delimiter.
    if (body.length - pos <= 2 && (next < 0 ? pos === body.length : next === body.length)) return parts;
    throw bad('part not followed by a boundary');
  }
}
