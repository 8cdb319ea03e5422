// Opening a TIFF / BigTIFF (either byte order): the header and every image file
// directory of the main chain and SubIFDs, in as few round trips as possible.
//
// Each round plans all the reads it needs and issues them in one call (the range
// scheduler turns them into one coalesced or multi-range request):
//   round 1  the speculative head (64 KiB) - usually the header and the first IFDs;
//   round n  windows at the IFD offsets not yet covered (to EOF when that is close,
//            as writers put later IFDs near the end), a speculative tail once, and the
//            out-of-line values of the IFDs parsed in the previous round.
// Tile/strip offset arrays are never fetched here unless already in hand: they stay
// lazy (LazyArray) and a tile read fetches only a block around its index.

import { ImageboxError } from '../../errors.js';
import { readHead, type ByteRange, type ByteSource } from '../../io/byte-source.js';
import { EndianView } from './endian-view.js';
import type { Ifd, IfdEntry } from './ifd.js';
import { LazyArray, ResidentArray } from './lazy-array.js';
import { Spans } from './spans.js';
import { decodeValues } from './tag-values.js';
import { LAZY_ARRAY_TAGS, Tag, typeSize } from './tags.js';

export interface TiffOpenOptions {
  /** First speculative read. */
  headBytes?: number;
  /** When an IFD lies at most this far from EOF, read from it to EOF in one go. */
  tailReadBytes?: number;
  /**
   * Window read at an IFD offset farther from EOF: the IFD's entries and the small
   * values writers put right after them. (Growing it per round does not help: each
   * IFD of a chain is found only by reading the previous one, and writers put the
   * next IFD after the image data, far beyond any window.)
   */
  ifdWindowBytes?: number;
  /** Speculative read of the file's last bytes, once, for files larger than tailReadBytes. */
  tailProbeBytes?: number;
  /** Bounds against hostile files. */
  maxIfds?: number;
  maxEntriesPerIfd?: number;
  maxValueBytes?: number;
}

/** The speculative head open reads first (a warm re-open sends the same read to validate). */
export const TIFF_HEAD_BYTES = 64 * 1024;

const DEFAULTS: Required<TiffOpenOptions> = {
  headBytes: TIFF_HEAD_BYTES,
  tailReadBytes: 2 * 1024 * 1024,
  ifdWindowBytes: 64 * 1024,
  tailProbeBytes: 256 * 1024,
  maxIfds: 1024,
  maxEntriesPerIfd: 4096,
  maxValueBytes: 16 * 1024 * 1024,
};

/** Values above this size of tags we do not know are not read eagerly. */
const EAGER_UNKNOWN_MAX = 64 * 1024;
const EAGER_TAGS: ReadonlySet<number> = new Set([Tag.ImageDescription, Tag.JPEGTables, Tag.SubIFDs]);

export interface TiffFile {
  source: ByteSource;
  size: number;
  littleEndian: boolean;
  bigTiff: boolean;
  /** The main IFD chain, in file order; SubIFDs hang off their parent. */
  ifds: Ifd[];
  /** How many read rounds (round trips) open took. */
  rounds: number;
  /**
   * Hamamatsu NDPI: a classic TIFF whose IFD 0 has tag 65420. Its next-IFD pointers are
   * 8 bytes, and 32-bit value offsets of a directory beyond 4 GiB get the directory's
   * high bits back (OpenSlide's heuristic: the largest offset below the directory).
   */
  ndpi: boolean;
}

/** NDPI's 32-bit offsets: the high bits of the directory's offset, kept below it. */
export function fixNdpiOffset(dirOffset: number, offset: number): number {
  const high = Math.floor(dirOffset / 2 ** 32) * 2 ** 32;
  let r = high + (offset % 2 ** 32);
  if (r >= dirOffset && r >= 2 ** 32) r -= 2 ** 32;
  return r;
}

interface PendingIfd {
  offset: number;
  index: number;
  parent: Ifd | undefined;
  subIndex: number | undefined;
}

interface PendingValue {
  ifd: Ifd;
  entry: IfdEntry;
}

export async function openTiff(source: ByteSource, options: TiffOpenOptions = {}): Promise<TiffFile> {
  const o = { ...DEFAULTS, ...options };
  const spans = new Spans();
  // The speculative head: with readHead it also tells the size, in one round trip.
  const first = await readHead(source, o.headBytes);
  const size = await source.size();
  if (size < 8) throw new ImageboxError('E_NOT_A_SLIDE', `not a TIFF file: only ${size} bytes`);
  spans.add(0, first);
  let rounds = 1;
  const fetch = async (ranges: ByteRange[]): Promise<void> => {
    const want = spans.missing(ranges);
    if (want.length === 0) return;
    rounds++;
    const got = await source.read(want);
    want.forEach((r, i) => spans.add(r.offset, got[i]!));
  };

  const head = spans.get(0, 8)!;
  const magic = String.fromCharCode(head[0]!, head[1]!);
  if (magic !== 'II' && magic !== 'MM') {
    const dicm = spans.get(128, 4);
    if (dicm && String.fromCharCode(...dicm) === 'DICM') {
      throw new ImageboxError('E_NOT_A_SLIDE', 'a DICOM file, not a TIFF', { dicom: true });
    }
    throw new ImageboxError('E_NOT_A_SLIDE', 'not a TIFF file (no II/MM byte-order mark)');
  }
  const little = magic === 'II';
  const hv = new EndianView(head, little);
  const version = hv.u16(2);
  let bigTiff: boolean;
  let firstIfd: number;
  if (version === 42) {
    bigTiff = false;
    firstIfd = hv.u32(4);
  } else if (version === 43) {
    const h16 = spans.get(0, 16);
    if (!h16) throw new ImageboxError('E_NOT_A_SLIDE', 'BigTIFF header cut short');
    const v16 = new EndianView(h16, little);
    if (v16.u16(4) !== 8 || v16.u16(6) !== 0) {
      throw new ImageboxError('E_NOT_A_SLIDE', 'BigTIFF header with unsupported offset size');
    }
    bigTiff = true;
    firstIfd = v16.u64(8);
  } else {
    throw new ImageboxError('E_NOT_A_SLIDE', `not a TIFF file (version ${version})`);
  }

  const countSize = bigTiff ? 8 : 2;
  const entrySize = bigTiff ? 20 : 12;
  const pointerSize = bigTiff ? 8 : 4;
  const inlineSize = bigTiff ? 8 : 4;

  let ndpi = false;
  // an NDPI directory's next pointer is 8 bytes: want 4 more bytes of every classic IFD (when the file has them)
  const tableLength = (offset: number, n: number): number => {
    const len = countSize + n * entrySize + pointerSize;
    return bigTiff ? len : Math.min(len + 4, Math.max(len, size - offset));
  };

  const checkOffset = (what: string, offset: number, length: number): void => {
    if (offset + length > size) {
      throw new ImageboxError(
        'E_TRUNCATED',
        `${what} at offset ${offset} (+${length}) lies past the end of the file (${size} bytes): the file is truncated or damaged`,
        { offset, length, size },
      );
    }
  };

  const window = (offset: number): ByteRange => {
    const remaining = size - offset;
    if (remaining <= o.tailReadBytes) return { offset, length: remaining };
    return { offset, length: Math.min(remaining, o.ifdWindowBytes) };
  };

  const visited = new Set<number>();
  const main: Ifd[] = [];
  let total = 0;
  let pendingIfds: PendingIfd[] = [];
  let pendingValues: PendingValue[] = [];
  let tailProbed = size <= o.tailReadBytes;

  const enqueue = (p: PendingIfd): void => {
    if (p.offset === 0) return;
    if (visited.has(p.offset)) {
      throw new ImageboxError('E_MALFORMED', `the IFD chain loops back to offset ${p.offset}`);
    }
    checkOffset('IFD', p.offset, countSize);
    visited.add(p.offset);
    if (++total > o.maxIfds) throw new ImageboxError('E_TOO_LARGE', `more than ${o.maxIfds} image directories`);
    pendingIfds.push(p);
  };

  const applyValue = (ifd: Ifd, entry: IfdEntry, bytes: Uint8Array): void => {
    const value = decodeValues(bytes, entry.type, entry.count, little);
    if (LAZY_ARRAY_TAGS.has(entry.tag)) {
      ifd.arrays.set(entry.tag, new ResidentArray(value as number[]));
      return;
    }
    ifd.values.set(entry.tag, value);
    if (entry.tag === Tag.SubIFDs && Array.isArray(value)) {
      value.forEach((off, k) => enqueue({ offset: off, index: ifd.index, parent: ifd, subIndex: k }));
    }
  };

  const parseIfd = (p: PendingIfd, table: Uint8Array, n: number): Ifd => {
    const v = new EndianView(table, little);
    if (!bigTiff && !p.parent && p.index === 0) {
      for (let i = 0; i < n; i++) if (v.u16(countSize + i * entrySize) === Tag.NdpiFormatFlag) ndpi = true;
    }
    const ifd: Ifd = {
      index: p.index,
      subIndex: p.subIndex,
      offset: p.offset,
      entries: new Map(),
      values: new Map(),
      arrays: new Map(),
      subIfds: [],
    };
    for (let i = 0; i < n; i++) {
      const e = countSize + i * entrySize;
      const tag = v.u16(e);
      const type = v.u16(e + 2);
      const count = bigTiff ? v.u64(e + 4) : v.u32(e + 4);
      const tsize = typeSize(type);
      if (tsize === undefined) continue; // unknown field types are skipped, as the spec says
      const byteLength = count * tsize;
      if (byteLength > size) {
        throw new ImageboxError('E_MALFORMED', `tag ${tag} claims ${count} values (${byteLength} bytes) in a ${size}-byte file`);
      }
      const fieldAt = e + (bigTiff ? 12 : 8);
      const inline = byteLength <= inlineSize;
      const rawOffset = inline ? p.offset + fieldAt : bigTiff ? v.u64(fieldAt) : v.u32(fieldAt);
      const valueOffset = ndpi && !inline ? fixNdpiOffset(p.offset, rawOffset) : rawOffset;
      const entry: IfdEntry = { tag, type, count, valueOffset, byteLength };
      ifd.entries.set(tag, entry);
      if (count === 0) continue;
      if (inline) {
        applyValue(ifd, entry, table.subarray(fieldAt, fieldAt + byteLength));
        continue;
      }
      checkOffset(`value of tag ${tag}`, valueOffset, byteLength);
      const have = spans.get(valueOffset, byteLength);
      if (LAZY_ARRAY_TAGS.has(tag)) {
        if (have) applyValue(ifd, entry, have);
        else ifd.arrays.set(tag, new LazyArray(source, valueOffset, count, type, little));
        continue;
      }
      const eager = EAGER_TAGS.has(tag) ? byteLength <= o.maxValueBytes : byteLength <= EAGER_UNKNOWN_MAX;
      if (have) applyValue(ifd, entry, have);
      else if (eager) pendingValues.push({ ifd, entry });
    }
    if (p.parent) {
      p.parent.subIfds[p.subIndex!] = ifd;
    } else {
      main.push(ifd);
      const nextAt = countSize + n * entrySize;
      const next = bigTiff || (ndpi && table.length >= nextAt + 8) ? v.u64(nextAt) : v.u32(nextAt);
      if (next !== 0) {
        if (next + countSize > size) {
          throw new ImageboxError(
            'E_TRUNCATED',
            `IFD ${p.index} points to a next IFD at offset ${next}, past the end of the file (${size} bytes): the file is truncated`,
            { offset: next, size },
          );
        }
        enqueue({ offset: next, index: p.index + 1, parent: undefined, subIndex: undefined });
      }
    }
    return ifd;
  };

  enqueue({ offset: firstIfd, index: 0, parent: undefined, subIndex: undefined });
  if (pendingIfds.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', 'TIFF file without any image directory');

  for (let round = 0; pendingIfds.length > 0 || pendingValues.length > 0; round++) {
    if (round > 4 * o.maxIfds + 8) throw new ImageboxError('E_MALFORMED', 'TIFF directories could not be resolved');
    // Plan this round's reads.
    const ranges: ByteRange[] = [];
    for (const p of pendingIfds) {
      const cnt = spans.get(p.offset, countSize);
      if (!cnt) {
        ranges.push(window(p.offset));
        continue;
      }
      const n = countOf(cnt, little, bigTiff);
      const len = tableLength(p.offset, n);
      if (!spans.has(p.offset, len)) ranges.push({ offset: p.offset, length: Math.min(len, size - p.offset) });
    }
    if (!tailProbed && ranges.length > 0 && !ranges.some((r) => r.offset + r.length >= size - o.tailProbeBytes)) {
      // Some IFD is not in hand: writers put later IFDs near the end, so look there too, once.
      tailProbed = true;
      ranges.push({ offset: size - o.tailProbeBytes, length: o.tailProbeBytes });
    }
    for (const pv of pendingValues) ranges.push({ offset: pv.entry.valueOffset, length: pv.entry.byteLength });
    await fetch(ranges);

    const values = pendingValues;
    pendingValues = [];
    for (const pv of values) applyValue(pv.ifd, pv.entry, spans.get(pv.entry.valueOffset, pv.entry.byteLength)!);

    const ifds = pendingIfds;
    pendingIfds = [];
    for (const p of ifds) {
      const cnt = spans.get(p.offset, countSize);
      if (!cnt) {
        pendingIfds.push(p); // a SubIFD learned this round: fetched next round
        continue;
      }
      const n = countOf(cnt, little, bigTiff);
      if (n === 0) throw new ImageboxError('E_MALFORMED', `IFD at offset ${p.offset} has no entries`);
      if (n > o.maxEntriesPerIfd) {
        throw new ImageboxError('E_MALFORMED', `IFD at offset ${p.offset} claims ${n} entries`);
      }
      checkOffset('IFD entries', p.offset, countSize + n * entrySize + pointerSize);
      const len = tableLength(p.offset, n);
      const table = spans.get(p.offset, len);
      if (!table) {
        pendingIfds.push(p); // its window held only the start: read the rest next round
        continue;
      }
      parseIfd(p, table, n);
    }
  }
  main.sort((a, b) => a.index - b.index);
  return { source, size, littleEndian: little, bigTiff, ifds: main, rounds, ndpi };
}

function countOf(bytes: Uint8Array, little: boolean, bigTiff: boolean): number {
  const v = new EndianView(bytes, little);
  return bigTiff ? v.u64(0) : v.u16(0);
}
