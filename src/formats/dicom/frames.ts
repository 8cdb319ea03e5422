// Where each frame of a DICOM instance lies in its file, found without reading
// the pixel data: native frames are frame-size strides from the value's start;
// encapsulated frames come from the Extended Offset Table (7FE0,0001/0002) if
// there is one, else from the Basic Offset Table (the first item) if it is not
// empty, else by walking the fragment item headers (8 bytes each) with
// read-ahead windows. One fragment per frame (what WSI writers do); a stream
// with more fragments than frames is refused, not mis-read. Isomorphic.
import { ImageboxError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { T, nums, type DicomHeader } from './data-set.js';

/** Most frames one instance may have (2^24 tiles: a 1,000,000 px square level in 256 px tiles). */
export const MAX_FRAMES = 1 << 24;
/** Bytes read at a time while walking fragment headers (a window catches every header inside it). */
export const WALK_WINDOW_BYTES = 16 * 1024;

/** How frames were found; 'dicomweb': asked by number from a DICOMweb origin (no offsets at all). */
export type FrameIndexKind = 'native' | 'extended-offset-table' | 'basic-offset-table' | 'fragment-walk' | 'dicomweb';

export interface FrameTable {
  /** File offset of each frame's bytes (its fragment's value); NaN while a walk has not reached it. */
  offsets: Float64Array;
  lengths: Float64Array;
  how: FrameIndexKind;
  /** Read round trips spent finding the frames at open (beyond the header). */
  reads: number;
  /** For a stream without tables: finds frames on demand (frames before i are found on the way). */
  walker: FragmentWalker | undefined;
}

/**
 * The fragment walk of a stream with no offset table, done lazily: open costs
 * nothing, a tile walks from the last header found to its frame (sharing one
 * walk between callers), and loadAll() walks to the end. After the last frame
 * the next header must end the sequence (more fragments than frames: frames of
 * several fragments, refused).
 */
export class FragmentWalker {
  /** Frames located so far. */
  known = 0;
  private pos: number;
  private running: Promise<void> | undefined;
  private failure: ImageboxError | undefined;
  private checked = false;

  constructor(
    private readonly reader: Reader,
    private readonly table: { offsets: Float64Array; lengths: Float64Array },
    private readonly frames: number,
    first: number,
    private readonly size: number,
  ) {
    this.pos = first;
  }

  get done(): boolean {
    return this.checked;
  }

  /** Walk until frame i is located (i = frames - 1, or more: the whole stream, end checked). */
  async upTo(i: number): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.known > i && (i < this.frames - 1 || this.checked)) return;
      if (!this.running) {
        this.running = this.walk(i).finally(() => {
          this.running = undefined;
        });
      }
      await this.running.catch(() => undefined);
    }
  }

  private async walk(target: number): Promise<void> {
    try {
      while (this.known <= target && this.known < this.frames) {
        const i = this.known;
        const h = await this.reader.itemHeader(this.pos, WALK_WINDOW_BYTES);
        if (h.tag === SEQ_END) throw new ImageboxError('E_MALFORMED', `the pixel data holds ${i} fragments for ${this.frames} frames`);
        if (h.tag !== ITEM || h.length === 0xffffffff) throw new ImageboxError('E_MALFORMED', `no fragment item at ${this.pos} (frame ${i})`);
        if (this.pos + 8 + h.length > this.size) {
          throw new ImageboxError('E_TRUNCATED', `frame ${i} at ${this.pos + 8}+${h.length} runs past the end of the file (${this.size} bytes)`);
        }
        this.table.offsets[i] = this.pos + 8;
        this.table.lengths[i] = h.length;
        this.pos += 8 + h.length;
        this.known = i + 1;
      }
      if (this.known >= this.frames && !this.checked && target >= this.frames - 1) {
        const after = await this.reader.itemHeader(this.pos, 8);
        if (after.tag === ITEM) {
          throw new ImageboxError('E_NOT_A_SLIDE', `the pixel data has more fragments than its ${this.frames} frames and no offset table (frames of several fragments are not supported)`);
        }
        this.checked = true;
      }
    } catch (e) {
      this.failure = e instanceof ImageboxError ? e : new ImageboxError('E_MALFORMED', `walking the pixel data: ${(e as Error).message}`, undefined, e);
      throw this.failure;
    }
  }
}

const ITEM = T.Item;
const SEQ_END = T.SequenceDelimitation;

/** Bytes of the file at [offset, offset+length): from the header window when it holds them, else one read. */
export class Reader {
  reads = 0;
  private chunk: { start: number; bytes: Uint8Array } | undefined;

  constructor(
    private readonly source: ByteSource,
    private readonly header: DicomHeader,
    private readonly signal?: AbortSignal,
  ) {}

  async at(offset: number, length: number, readAhead = length): Promise<Uint8Array> {
    if (offset + length > this.header.size) {
      throw new ImageboxError('E_TRUNCATED', `the DICOM pixel data ends past the end of the file (${offset}+${length} > ${this.header.size} bytes)`);
    }
    const w = this.header.window;
    if (offset + length <= w.length) return w.subarray(offset, offset + length);
    const c = this.chunk;
    if (c && offset >= c.start && offset + length <= c.start + c.bytes.length) return c.bytes.subarray(offset - c.start, offset - c.start + length);
    const n = Math.min(Math.max(length, readAhead), this.header.size - offset);
    this.reads++;
    const [bytes] = await this.source.read([{ offset, length: n }], this.signal);
    this.chunk = { start: offset, bytes: bytes! };
    return bytes!.subarray(0, length);
  }

  /** The item header (tag, length) at offset. */
  async itemHeader(offset: number, readAhead = 8): Promise<{ tag: number; length: number }> {
    const b = await this.at(offset, 8, readAhead);
    const v = new DataView(b.buffer, b.byteOffset, 8);
    return { tag: ((v.getUint16(0, true) << 16) | v.getUint16(2, true)) >>> 0, length: v.getUint32(4, true) };
  }
}

export async function frameTable(
  source: ByteSource,
  header: DicomHeader,
  frames: number,
  frameBytes: number,
  signal?: AbortSignal,
): Promise<FrameTable> {
  const pd = header.pixelData;
  if (!pd) throw new ImageboxError('E_NOT_A_SLIDE', 'DICOM instance without Pixel Data');
  if (!Number.isInteger(frames) || frames < 1) throw new ImageboxError('E_MALFORMED', `Number of Frames ${frames}`);
  if (frames > MAX_FRAMES) throw new ImageboxError('E_TOO_LARGE', `${frames} frames (at most ${MAX_FRAMES})`);
  const offsets = new Float64Array(frames);
  const lengths = new Float64Array(frames);

  if (!pd.encapsulated) {
    const need = frames * frameBytes;
    if ((pd.length ?? 0) < need) throw new ImageboxError('E_MALFORMED', `native Pixel Data of ${pd.length} bytes for ${frames} frames of ${frameBytes} bytes`);
    if (pd.offset + need > header.size) throw new ImageboxError('E_TRUNCATED', `the native pixel data runs past the end of the file (${header.size} bytes)`);
    for (let i = 0; i < frames; i++) {
      offsets[i] = pd.offset + i * frameBytes;
      lengths[i] = frameBytes;
    }
    return { offsets, lengths, how: 'native', reads: 0, walker: undefined };
  }

  const r = new Reader(source, header, signal);
  const bot = await r.itemHeader(pd.offset);
  if (bot.tag !== ITEM) throw new ImageboxError('E_MALFORMED', 'encapsulated Pixel Data does not start with an item (the Basic Offset Table)');
  if (bot.length % 4 !== 0 || bot.length > 4 * MAX_FRAMES) throw new ImageboxError('E_MALFORMED', `a Basic Offset Table of ${bot.length} bytes`);
  const base = pd.offset + 8 + bot.length; // the first fragment's item tag: every table counts from here
  const check = (i: number): void => {
    const end = offsets[i]! + lengths[i]!;
    if (!(lengths[i]! >= 0) || offsets[i]! < base || end > header.size) {
      throw new ImageboxError(end > header.size ? 'E_TRUNCATED' : 'E_MALFORMED', `frame ${i} at ${offsets[i]}+${lengths[i]} is outside the pixel data (file of ${header.size} bytes)`);
    }
  };

  const eot = nums(header.dataSet, T.ExtendedOffsetTable);
  const eotLengths = nums(header.dataSet, T.ExtendedOffsetTableLengths);
  if (eot && eotLengths) {
    if (eot.length !== frames || eotLengths.length !== frames) {
      throw new ImageboxError('E_MALFORMED', `an Extended Offset Table of ${eot.length}/${eotLengths.length} entries for ${frames} frames`);
    }
    for (let i = 0; i < frames; i++) {
      offsets[i] = base + eot[i]! + 8;
      lengths[i] = eotLengths[i]!;
      check(i);
    }
    return { offsets, lengths, how: 'extended-offset-table', reads: r.reads, walker: undefined };
  }

  if (bot.length > 0) {
    if (bot.length / 4 !== frames) throw new ImageboxError('E_MALFORMED', `a Basic Offset Table of ${bot.length / 4} entries for ${frames} frames`);
    const table = await r.at(pd.offset + 8, bot.length);
    const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
    for (let i = 0; i < frames; i++) offsets[i] = base + v.getUint32(4 * i, true);
    for (let i = 0; i < frames; i++) {
      const next = i + 1 < frames ? offsets[i + 1]! : undefined;
      if (next !== undefined && next <= offsets[i]!) throw new ImageboxError('E_MALFORMED', `Basic Offset Table entries not increasing at frame ${i}`);
      if (next !== undefined) lengths[i] = next - offsets[i]! - 8;
    }
    // the last frame's length is in its item header (the only read this needs)
    const lastAt = offsets[frames - 1]!;
    const last = await r.itemHeader(lastAt);
    if (last.tag !== ITEM) throw new ImageboxError('E_MALFORMED', 'the Basic Offset Table points at no item for the last frame');
    lengths[frames - 1] = last.length;
    for (let i = 0; i < frames; i++) {
      offsets[i]! += 8;
      check(i);
    }
    return { offsets, lengths, how: 'basic-offset-table', reads: r.reads, walker: undefined };
  }

  // neither table: hop from item header to item header, lazily (the walk's reads carry no
  // caller's signal: it is shared). A single frame is walked now (its end check is all there is).
  offsets.fill(NaN);
  lengths.fill(NaN);
  const walker = new FragmentWalker(new Reader(source, header), { offsets, lengths }, frames, base, header.size);
  if (frames === 1) await walker.upTo(0);
  return { offsets, lengths, how: 'fragment-walk', reads: r.reads, walker };
}
