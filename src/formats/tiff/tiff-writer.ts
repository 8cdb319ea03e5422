// A streaming BigTIFF writer (little-endian): image data is appended in order
// to a sink (a file handle, in Node) through a small buffer, and only the
// directories (their tags and per-tile offset/byte-count arrays) are held in
// memory until finish(), which writes them after the data - chained in the
// order they were added - and patches the header's first-IFD offset. So a
// 100,000 x 60,000 slide of 92k tiles needs the tiles' two arrays (~1.1 MB),
// not the tiles. Always BigTIFF (64-bit offsets), as Aperio GT450 writes: a
// slide at high quality passes 4 GB. Isomorphic: the sink is injected.

import { ImageboxError } from '../../errors.js';
import { Tag } from './tags.js';

/** Where the bytes go: positional writes (Node: FileHandle.write(data, 0, len, position)). */
export interface TiffSink {
  write(data: Uint8Array, position: number): Promise<void>;
}

/** TIFF field types the writer emits. */
export const FieldTypeId = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  UNDEFINED: 7,
  LONG8: 16,
} as const;
export type FieldTypeId = (typeof FieldTypeId)[keyof typeof FieldTypeId];

export interface TiffField {
  tag: number;
  type: FieldTypeId;
  /** ASCII: a string (NUL added); BYTE/UNDEFINED: bytes; RATIONAL: numerator, denominator pairs flattened; else numbers. */
  value: string | Uint8Array | ArrayLike<number>;
}

const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 16: 8 };
const MAX_U32 = 0xffffffff;
const HEADER_BYTES = 16;

function bad(message: string): ImageboxError {
  return new ImageboxError('E_BAD_REQUEST', `TIFF writer: ${message}`);
}

/** A field's value bytes (little-endian), validated against its type. */
function encodeField(f: TiffField): { count: number; bytes: Uint8Array } {
  const where = `tag ${f.tag}`;
  if (f.type === FieldTypeId.ASCII) {
    if (typeof f.value !== 'string') throw bad(`${where}: ASCII needs a string`);
    const s = f.value;
    const bytes = new Uint8Array(s.length + 1);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c > 0x7f) throw bad(`${where}: ASCII value has a NUL or non-ASCII character at ${i}`);
      bytes[i] = c;
    }
    return { count: bytes.length, bytes };
  }
  if (typeof f.value === 'string') throw bad(`${where}: a string for a numeric type`);
  if (f.type === FieldTypeId.BYTE || f.type === FieldTypeId.UNDEFINED) {
    if (!(f.value instanceof Uint8Array)) throw bad(`${where}: BYTE/UNDEFINED needs a Uint8Array`);
    if (f.value.length === 0) throw bad(`${where}: no values`);
    return { count: f.value.length, bytes: f.value.slice() };
  }
  const v = f.value;
  const n = v.length;
  if (n === 0) throw bad(`${where}: no values`);
  const size = TYPE_BYTES[f.type];
  if (size === undefined) throw bad(`${where}: unsupported field type ${String(f.type)}`);
  if (f.type === FieldTypeId.RATIONAL && n % 2 !== 0) throw bad(`${where}: RATIONAL needs numerator/denominator pairs`);
  const max = f.type === FieldTypeId.SHORT ? 0xffff : f.type === FieldTypeId.LONG8 ? Number.MAX_SAFE_INTEGER : MAX_U32;
  const count = f.type === FieldTypeId.RATIONAL ? n / 2 : n;
  const bytes = new Uint8Array(count * size);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!Number.isInteger(x) || x < 0 || x > max) throw bad(`${where}: value ${x} at ${i} does not fit type ${f.type}`);
    if (f.type === FieldTypeId.SHORT) dv.setUint16(i * 2, x, true);
    else if (f.type === FieldTypeId.LONG8) dv.setBigUint64(i * 8, BigInt(x), true);
    else dv.setUint32(i * 4, x, true);
  }
  return { count, bytes };
}

function numbersOf(f: TiffField | undefined): ArrayLike<number> | undefined {
  if (!f || typeof f.value === 'string' || f.value instanceof Uint8Array) return undefined;
  return f.value;
}

export interface TiffWriterOptions {
  /** Bytes buffered before a write to the sink (default 4 MiB). */
  bufferBytes?: number;
}

export interface TiffWriteResult {
  /** File size. */
  size: number;
  /** Where each directory was written, in order. */
  ifdOffsets: number[];
}

export class BigTiffWriter {
  private readonly buffer: Uint8Array;
  private fill = 0;
  /** File position of buffer[0]. */
  private bufferStart = HEADER_BYTES;
  private readonly directories: TiffField[][] = [];
  private finished = false;
  private failed: unknown;

  constructor(
    private readonly sink: TiffSink,
    options: TiffWriterOptions = {},
  ) {
    const n = options.bufferBytes ?? 4 * 1024 * 1024;
    if (!Number.isInteger(n) || n < 1) throw bad(`bufferBytes ${n}`);
    this.buffer = new Uint8Array(n);
  }

  /** Where the next appended byte goes (bytes written so far, header included). */
  get position(): number {
    return this.bufferStart + this.fill;
  }

  /** Append image data (a tile, a strip); returns its file offset. */
  async append(data: Uint8Array): Promise<number> {
    this.usable();
    if (!(data instanceof Uint8Array)) throw bad('append needs a Uint8Array');
    const at = this.position;
    if (data.length > this.buffer.length - this.fill) await this.flush();
    if (data.length >= this.buffer.length) {
      await this.put(data, this.bufferStart);
      this.bufferStart += data.length;
    } else {
      this.buffer.set(data, this.fill);
      this.fill += data.length;
    }
    return at;
  }

  /**
   * Add an image directory (written at finish(), chained in the order added).
   * Fields are validated now; tile/strip offsets and byte counts are checked
   * against the data written by the time finish() runs.
   */
  addDirectory(fields: TiffField[]): number {
    this.usable();
    if (fields.length === 0) throw bad('a directory needs fields');
    const seen = new Set<number>();
    for (const f of fields) {
      if (!Number.isInteger(f.tag) || f.tag < 1 || f.tag > 0xffff) throw bad(`bad tag ${f.tag}`);
      if (seen.has(f.tag)) throw bad(`tag ${f.tag} twice in one directory`);
      seen.add(f.tag);
      encodeField(f); // throws on a bad value
    }
    for (const [off, cnt] of [[Tag.TileOffsets, Tag.TileByteCounts], [Tag.StripOffsets, Tag.StripByteCounts]] as const) {
      const o = numbersOf(fields.find((f) => f.tag === off));
      const c = numbersOf(fields.find((f) => f.tag === cnt));
      if (!o && !c) continue;
      if (!o || !c || o.length !== c.length) throw bad(`tags ${off}/${cnt} need the same number of offsets and byte counts`);
    }
    this.directories.push([...fields].sort((a, b) => a.tag - b.tag));
    return this.directories.length - 1;
  }

  /** Write the directories and the header; the writer cannot be used afterwards. */
  async finish(): Promise<TiffWriteResult> {
    this.usable();
    if (this.directories.length === 0) throw bad('no image directory');
    await this.flush();
    const dataEnd = this.position;
    for (const [k, fields] of this.directories.entries()) {
      for (const [off, cnt] of [[Tag.TileOffsets, Tag.TileByteCounts], [Tag.StripOffsets, Tag.StripByteCounts]] as const) {
        const o = numbersOf(fields.find((f) => f.tag === off));
        const c = numbersOf(fields.find((f) => f.tag === cnt));
        if (!o || !c) continue;
        for (let i = 0; i < o.length; i++) {
          if (o[i]! < HEADER_BYTES || o[i]! + c[i]! > dataEnd) {
            throw bad(`directory ${k}: segment ${i} at ${o[i]} + ${c[i]} bytes lies outside the data written (${HEADER_BYTES}..${dataEnd})`);
          }
        }
      }
    }
    // lay the directories out after the data, each followed by its out-of-line values
    let at = dataEnd + (dataEnd % 8 === 0 ? 0 : 8 - (dataEnd % 8));
    const ifdOffsets: number[] = [];
    const encoded = this.directories.map((fields) => {
      const enc = fields.map((f) => ({ f, ...encodeField(f) }));
      const table = 8 + enc.length * 20 + 8;
      const extra = enc.reduce((n, e) => n + (e.bytes.length > 8 ? e.bytes.length + (e.bytes.length % 8 ? 8 - (e.bytes.length % 8) : 0) : 0), 0);
      ifdOffsets.push(at);
      const start = at;
      at += table + extra;
      return { enc, start, size: table + extra };
    });
    const pad = ifdOffsets[0]! - dataEnd;
    if (pad > 0) await this.put(new Uint8Array(pad), dataEnd);
    for (const [k, d] of encoded.entries()) {
      const out = new Uint8Array(d.size);
      const dv = new DataView(out.buffer);
      dv.setBigUint64(0, BigInt(d.enc.length), true);
      let values = 8 + d.enc.length * 20 + 8;
      d.enc.forEach((e, i) => {
        const p = 8 + i * 20;
        dv.setUint16(p, e.f.tag, true);
        dv.setUint16(p + 2, e.f.type, true);
        dv.setBigUint64(p + 4, BigInt(e.count), true);
        if (e.bytes.length <= 8) out.set(e.bytes, p + 12);
        else {
          dv.setBigUint64(p + 12, BigInt(d.start + values), true);
          out.set(e.bytes, values);
          values += e.bytes.length + (e.bytes.length % 8 ? 8 - (e.bytes.length % 8) : 0);
        }
      });
      dv.setBigUint64(8 + d.enc.length * 20, BigInt(ifdOffsets[k + 1] ?? 0), true);
      await this.put(out, d.start);
    }
    const header = new Uint8Array(HEADER_BYTES);
    const hv = new DataView(header.buffer);
    header.set([0x49, 0x49], 0);
    hv.setUint16(2, 43, true);
    hv.setUint16(4, 8, true);
    hv.setUint16(6, 0, true);
    hv.setBigUint64(8, BigInt(ifdOffsets[0]!), true);
    await this.put(header, 0);
    this.finished = true;
    return { size: at, ifdOffsets };
  }

  private usable(): void {
    if (this.failed !== undefined) throw bad('an earlier write failed');
    if (this.finished) throw bad('already finished');
  }

  private async flush(): Promise<void> {
    if (this.fill === 0) return;
    // the sink may keep a reference until its write settles: hand it a copy
    await this.put(this.buffer.slice(0, this.fill), this.bufferStart);
    this.bufferStart += this.fill;
    this.fill = 0;
  }

  private async put(data: Uint8Array, position: number): Promise<void> {
    try {
      await this.sink.write(data, position);
    } catch (e) {
      this.failed = e;
      throw e;
    }
  }
}

/** Tiles (or strips) of an image: ceil(w / tw) * ceil(h / th). */
export function segmentCount(width: number, height: number, segWidth: number, segHeight: number): number {
  return Math.ceil(width / segWidth) * Math.ceil(height / segHeight);
}

export interface ImageDirectory {
  width: number;
  height: number;
  /** Tiled: tile size. */
  tile?: [number, number];
  /** Stripped (when `tile` is absent): rows per strip (default the image height). */
  rowsPerStrip?: number;
  compression: number;
  photometric: number;
  samplesPerPixel?: number;
  bitsPerSample?: number;
  offsets: ArrayLike<number>;
  byteCounts: ArrayLike<number>;
  description?: string;
  newSubfileType?: number;
  jpegTables?: Uint8Array;
  /** JPEG YCbCr: [2, 2] for 4:2:0, [1, 1] for 4:4:4. */
  ycbcrSubsampling?: [number, number];
}

/** The fields of an 8-bit chunky image directory (what Aperio writes), checked for consistency. */
export function imageFields(d: ImageDirectory): TiffField[] {
  const { width, height } = d;
  const side = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 1 || n > MAX_U32) throw bad(`${what} ${n}`);
  };
  side(width, 'width');
  side(height, 'height');
  const spp = d.samplesPerPixel ?? 3;
  const bps = d.bitsPerSample ?? 8;
  let segW: number;
  let segH: number;
  if (d.tile) {
    [segW, segH] = d.tile;
    side(segW, 'tile width');
    side(segH, 'tile height');
    if (segW % 16 !== 0 || segH % 16 !== 0) throw bad(`tile size ${segW}x${segH} is not a multiple of 16`);
  } else {
    segW = width;
    segH = d.rowsPerStrip ?? height;
    side(segH, 'rows per strip');
  }
  const need = segmentCount(width, height, segW, segH);
  if (d.offsets.length !== need || d.byteCounts.length !== need) {
    throw bad(`a ${width}x${height} image in ${segW}x${segH} segments needs ${need} offsets and byte counts (got ${d.offsets.length}, ${d.byteCounts.length})`);
  }
  const fields: TiffField[] = [
    { tag: Tag.NewSubfileType, type: FieldTypeId.LONG, value: [d.newSubfileType ?? 0] },
    { tag: Tag.ImageWidth, type: FieldTypeId.LONG, value: [width] },
    { tag: Tag.ImageLength, type: FieldTypeId.LONG, value: [height] },
    { tag: Tag.BitsPerSample, type: FieldTypeId.SHORT, value: new Array<number>(spp).fill(bps) },
    { tag: Tag.Compression, type: FieldTypeId.SHORT, value: [d.compression] },
    { tag: Tag.Photometric, type: FieldTypeId.SHORT, value: [d.photometric] },
    { tag: Tag.SamplesPerPixel, type: FieldTypeId.SHORT, value: [spp] },
    { tag: Tag.PlanarConfig, type: FieldTypeId.SHORT, value: [1] },
  ];
  if (d.description !== undefined) fields.push({ tag: Tag.ImageDescription, type: FieldTypeId.ASCII, value: d.description });
  if (d.tile) {
    fields.push(
      { tag: Tag.TileWidth, type: FieldTypeId.LONG, value: [segW] },
      { tag: Tag.TileLength, type: FieldTypeId.LONG, value: [segH] },
      { tag: Tag.TileOffsets, type: FieldTypeId.LONG8, value: d.offsets },
      { tag: Tag.TileByteCounts, type: FieldTypeId.LONG, value: d.byteCounts },
    );
  } else {
    fields.push(
      { tag: Tag.RowsPerStrip, type: FieldTypeId.LONG, value: [segH] },
      { tag: Tag.StripOffsets, type: FieldTypeId.LONG8, value: d.offsets },
      { tag: Tag.StripByteCounts, type: FieldTypeId.LONG, value: d.byteCounts },
    );
  }
  if (d.jpegTables) fields.push({ tag: Tag.JPEGTables, type: FieldTypeId.UNDEFINED, value: d.jpegTables });
  if (d.ycbcrSubsampling) fields.push({ tag: Tag.YCbCrSubsampling, type: FieldTypeId.SHORT, value: d.ycbcrSubsampling });
  return fields;
}
