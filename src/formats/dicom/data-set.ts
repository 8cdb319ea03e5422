// A DICOM Part 10 file's header read from ranges: the 128-byte preamble and
// "DICM", the File Meta group (always Explicit VR Little Endian), then the data
// set in Explicit or Implicit VR Little Endian, up to Pixel Data (7FE0,0010),
// whose bytes are not read: only where its value starts and how long it is.
// The header is read in a growing window (64 KiB first, doubling) and parsed
// again from the start when it did not fit; sequences of defined and undefined
// length are parsed into items (Per-Frame Functional Groups, Optical Paths...).
// Every length read from the file is checked against the bytes there are and a
// cap before anything is allocated; nesting is bounded. Isomorphic.
//
// Why not dicom-parser or dcmjs: both parse one complete in-memory buffer (a
// buffer that ends early is an exception like any corruption, so "read more"
// cannot be told from "damaged"), neither reports where the pixel data's
// fragments are without having them in that buffer, and neither caps lengths
// before allocating. What a WSI reader needs of DICOM is this small subset.
import { ImageboxError } from '../../errors.js';
import { readHead, type ByteSource } from '../../io/byte-source.js';

export type Tag = number;

/** (group, element) as one number: 0xGGGGEEEE. */
export const tag = (group: number, element: number): Tag => ((group << 16) | element) >>> 0;

export const T = {
  TransferSyntaxUID: tag(0x0002, 0x0010),
  MediaStorageSOPClassUID: tag(0x0002, 0x0002),
  ImageType: tag(0x0008, 0x0008),
  SOPClassUID: tag(0x0008, 0x0016),
  SOPInstanceUID: tag(0x0008, 0x0018),
  Manufacturer: tag(0x0008, 0x0070),
  ManufacturerModelName: tag(0x0008, 0x1090),
  StudyInstanceUID: tag(0x0020, 0x000d),
  SeriesInstanceUID: tag(0x0020, 0x000e),
  InstanceNumber: tag(0x0020, 0x0013),
  FrameContentSequence: tag(0x0020, 0x9111),
  ConcatenationFrameOffsetNumber: tag(0x0020, 0x9228),
  DimensionOrganizationType: tag(0x0020, 0x9311),
  SamplesPerPixel: tag(0x0028, 0x0002),
  PhotometricInterpretation: tag(0x0028, 0x0004),
  PlanarConfiguration: tag(0x0028, 0x0006),
  NumberOfFrames: tag(0x0028, 0x0008),
  Rows: tag(0x0028, 0x0010),
  Columns: tag(0x0028, 0x0011),
  PixelSpacing: tag(0x0028, 0x0030),
  BitsAllocated: tag(0x0028, 0x0100),
  PixelRepresentation: tag(0x0028, 0x0103),
  ICCProfile: tag(0x0028, 0x2000),
  PixelMeasuresSequence: tag(0x0028, 0x9110),
  TotalPixelMatrixColumns: tag(0x0048, 0x0006),
  TotalPixelMatrixRows: tag(0x0048, 0x0007),
  TotalPixelMatrixOriginSequence: tag(0x0048, 0x0008),
  TotalPixelMatrixFocalPlanes: tag(0x0048, 0x0303),
  OpticalPathSequence: tag(0x0048, 0x0105),
  OpticalPathIdentifier: tag(0x0048, 0x0106),
  OpticalPathDescription: tag(0x0048, 0x0107),
  OpticalPathIdentificationSequence: tag(0x0048, 0x0207),
  PlanePositionSlideSequence: tag(0x0048, 0x021a),
  ColumnPositionInTotalImagePixelMatrix: tag(0x0048, 0x021e),
  RowPositionInTotalImagePixelMatrix: tag(0x0048, 0x021f),
  NumberOfOpticalPaths: tag(0x0048, 0x0302),
  SharedFunctionalGroupsSequence: tag(0x5200, 0x9229),
  PerFrameFunctionalGroupsSequence: tag(0x5200, 0x9230),
  ExtendedOffsetTable: tag(0x7fe0, 0x0001),
  ExtendedOffsetTableLengths: tag(0x7fe0, 0x0002),
  PixelData: tag(0x7fe0, 0x0010),
  Item: tag(0xfffe, 0xe000),
  ItemDelimitation: tag(0xfffe, 0xe00d),
  SequenceDelimitation: tag(0xfffe, 0xe0dd),
} as const;

/** The SOP class of a VL Whole Slide Microscopy Image. */
export const WSI_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.77.1.6';

export const TransferSyntax = {
  ImplicitLittle: '1.2.840.10008.1.2',
  ExplicitLittle: '1.2.840.10008.1.2.1',
  Deflated: '1.2.840.10008.1.2.1.99',
  ExplicitBig: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
} as const;

export interface Element {
  tag: Tag;
  vr: string;
  /** Absolute file offset of the value. */
  offset: number;
  /** Value length; undefined for undefined-length sequences. */
  length: number | undefined;
  /** The value bytes (a view into the header window; not for sequences). */
  value: Uint8Array | undefined;
  /** Items of a sequence. */
  items: DataSet[] | undefined;
  /** DICOM JSON only: where the value is (a BulkDataURI), when it was not inlined. */
  bulkDataUri?: string;
}

export type DataSet = Map<Tag, Element>;

export interface PixelDataInfo {
  /** Absolute offset of the value (the first item tag when encapsulated). */
  offset: number;
  /** Value length; undefined when encapsulated (a sequence of fragments). */
  length: number | undefined;
  encapsulated: boolean;
}

export interface DicomHeader {
  meta: DataSet;
  dataSet: DataSet;
  transferSyntax: string;
  pixelData: PixelDataInfo | undefined;
  /** Size of the whole file. */
  size: number;
  /** Header bytes read (the window that held everything before the pixel data). */
  headerBytes: number;
  /** The bytes read from offset 0 (the header and whatever followed it in the last read). */
  window: Uint8Array;
}

export interface DicomReadOptions {
  /** First speculative read (default 64 KiB). */
  headBytes?: number;
  /** Most header bytes read before Pixel Data (default 64 MiB: a 1M-frame Per-Frame Functional Groups sequence fits). */
  maxHeaderBytes?: number;
  /** Deepest sequence nesting (default 12). */
  maxDepth?: number;
  /** Most elements and items in all (default 4M). */
  maxElements?: number;
}

const DEFAULTS: Required<DicomReadOptions> = {
  headBytes: 64 * 1024,
  maxHeaderBytes: 64 * 1024 * 1024,
  maxDepth: 12,
  maxElements: 4 * 1024 * 1024,
};

/** VRs whose explicit length field is 4 bytes (after 2 reserved bytes). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** VRs of the elements we read, for Implicit VR data sets (which do not say). */
const IMPLICIT_VR = new Map<Tag, string>([
  [T.ImageType, 'CS'],
  [T.SOPClassUID, 'UI'],
  [T.SOPInstanceUID, 'UI'],
  [T.Manufacturer, 'LO'],
  [T.ManufacturerModelName, 'LO'],
  [T.StudyInstanceUID, 'UI'],
  [T.SeriesInstanceUID, 'UI'],
  [T.InstanceNumber, 'IS'],
  [T.FrameContentSequence, 'SQ'],
  [T.ConcatenationFrameOffsetNumber, 'UL'],
  [T.DimensionOrganizationType, 'CS'],
  [T.SamplesPerPixel, 'US'],
  [T.PhotometricInterpretation, 'CS'],
  [T.PlanarConfiguration, 'US'],
  [T.NumberOfFrames, 'IS'],
  [T.Rows, 'US'],
  [T.Columns, 'US'],
  [T.PixelSpacing, 'DS'],
  [T.BitsAllocated, 'US'],
  [T.PixelRepresentation, 'US'],
  [T.ICCProfile, 'OB'],
  [T.PixelMeasuresSequence, 'SQ'],
  [T.TotalPixelMatrixColumns, 'UL'],
  [T.TotalPixelMatrixRows, 'UL'],
  [T.TotalPixelMatrixOriginSequence, 'SQ'],
  [T.TotalPixelMatrixFocalPlanes, 'UL'],
  [T.OpticalPathSequence, 'SQ'],
  [T.OpticalPathIdentifier, 'SH'],
  [T.OpticalPathDescription, 'ST'],
  [T.OpticalPathIdentificationSequence, 'SQ'],
  [T.PlanePositionSlideSequence, 'SQ'],
  [T.ColumnPositionInTotalImagePixelMatrix, 'SL'],
  [T.RowPositionInTotalImagePixelMatrix, 'SL'],
  [T.NumberOfOpticalPaths, 'UL'],
  [T.SharedFunctionalGroupsSequence, 'SQ'],
  [T.PerFrameFunctionalGroupsSequence, 'SQ'],
  [T.ExtendedOffsetTable, 'OV'],
  [T.ExtendedOffsetTableLengths, 'OV'],
  [T.PixelData, 'OB'],
]);

const UNDEFINED = 0xffffffff;

/** The window ended before the header did: read more and parse again. */
class NeedMore {
  constructor(readonly at: number) {}
}

class Parser {
  private pos: number;
  private elements = 0;
  pixelData: PixelDataInfo | undefined;

  constructor(
    private readonly buf: Uint8Array,
    private readonly view: DataView,
    /** Bytes of the file (the window may hold fewer). */
    private readonly fileSize: number,
    private readonly o: Required<DicomReadOptions>,
    start: number,
  ) {
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos + n > this.fileSize) {
      throw new ImageboxError('E_TRUNCATED', `the DICOM file ends at ${this.fileSize} bytes, inside an element at ${this.pos}`);
    }
    throw new NeedMore(this.pos + n);
  }

  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private count(): void {
    if (++this.elements > this.o.maxElements) {
      throw new ImageboxError('E_TOO_LARGE', `more than ${this.o.maxElements} DICOM elements before the pixel data`);
    }
  }

  /** The File Meta group (0002,xxxx), Explicit VR LE whatever the data set's transfer syntax. */
  meta(): DataSet {
    const ds: DataSet = new Map();
    for (;;) {
      if (this.pos + 2 > this.fileSize) break;
      this.need(2);
      if (this.view.getUint16(this.pos, true) !== 0x0002) break;
      const e = this.element(true, 0, false);
      if (e) ds.set(e.tag, e);
    }
    return ds;
  }

  /** Elements until `end` (defined-length item), an Item Delimitation (undefined length), the pixel data or EOF (top level). */
  dataSet(explicit: boolean, depth: number, end: number | undefined, top: boolean): DataSet {
    if (depth > this.o.maxDepth) throw new ImageboxError('E_MALFORMED', `DICOM sequences nested deeper than ${this.o.maxDepth}`);
    const ds: DataSet = new Map();
    for (;;) {
      if (end !== undefined && this.pos >= end) {
        if (this.pos > end) throw new ImageboxError('E_MALFORMED', `a DICOM item overruns its length (at ${this.pos})`);
        return ds;
      }
      if (top && this.pos >= this.fileSize) return ds;
      this.need(4);
      const t = ((this.view.getUint16(this.pos, true) << 16) | this.view.getUint16(this.pos + 2, true)) >>> 0;
      if (t === T.ItemDelimitation) {
        if (end !== undefined || top) throw new ImageboxError('E_MALFORMED', `an Item Delimitation outside an undefined-length item (at ${this.pos})`);
        this.pos += 8;
        return ds;
      }
      const e = this.element(explicit, depth, top);
      if (!e) return ds; // Pixel Data: the header ends here
      ds.set(e.tag, e);
    }
  }

  /** One element (a sequence's items parsed); undefined at the top-level Pixel Data. */
  private element(explicit: boolean, depth: number, top: boolean): Element | undefined {
    this.count();
    const at = this.pos;
    const group = this.u16();
    const el = this.u16();
    const t = ((group << 16) | el) >>> 0;
    if (group === 0xfffe) throw new ImageboxError('E_MALFORMED', `an item tag (${hex(t)}) where a data element was expected (at ${at})`);
    let vr: string;
    let length: number;
    if (explicit) {
      this.need(2);
      const a = this.buf[this.pos]!;
      const b = this.buf[this.pos + 1]!;
      if (a < 0x41 || a > 0x5a || b < 0x41 || b > 0x5a) throw new ImageboxError('E_MALFORMED', `element ${hex(t)} at ${at} has no VR`);
      vr = String.fromCharCode(a, b);
      this.pos += 2;
      if (LONG_VRS.has(vr)) {
        this.pos += 2;
        length = this.u32();
      } else {
        length = this.u16();
      }
    } else {
      vr = IMPLICIT_VR.get(t) ?? 'UN';
      length = this.u32();
    }
    const offset = this.pos;
    if (t === T.PixelData && top) {
      this.pixelData = { offset, length: length === UNDEFINED ? undefined : length, encapsulated: length === UNDEFINED };
      return undefined;
    }
    if (t === T.PixelData && length === UNDEFINED) {
      // encapsulated pixel data inside an item (an Icon Image): fragments, not data sets
      this.skipFragments();
      return { tag: t, vr, offset, length: undefined, value: undefined, items: undefined };
    }
    if (vr === 'SQ' || length === UNDEFINED) {
      // a UN of undefined length is a sequence encoded in Implicit VR (PS3.5 6.2.2)
      const items = this.sequence(vr === 'UN' ? false : explicit, depth, length === UNDEFINED ? undefined : length);
      return { tag: t, vr: 'SQ', offset, length: length === UNDEFINED ? undefined : length, value: undefined, items };
    }
    if (length > this.o.maxHeaderBytes) {
      throw new ImageboxError('E_TOO_LARGE', `DICOM element ${hex(t)} claims ${length} bytes (at most ${this.o.maxHeaderBytes} before the pixel data)`);
    }
    if (offset + length > this.fileSize) {
      throw new ImageboxError('E_TRUNCATED', `DICOM element ${hex(t)} of ${length} bytes at ${offset} runs past the end of the file (${this.fileSize} bytes)`);
    }
    this.need(length);
    const value = this.buf.subarray(offset, offset + length);
    this.pos += length;
    return { tag: t, vr, offset, length, value, items: undefined };
  }

  private skipFragments(): void {
    for (;;) {
      const at = this.pos;
      const g = this.u16();
      const e = this.u16();
      const t = ((g << 16) | e) >>> 0;
      const len = this.u32();
      if (t === T.SequenceDelimitation) return;
      if (t !== T.Item || len === UNDEFINED) throw new ImageboxError('E_MALFORMED', `${hex(t)} where a pixel data fragment was expected (at ${at})`);
      this.count();
      if (this.pos + len > this.fileSize) throw new ImageboxError('E_TRUNCATED', `a pixel data fragment of ${len} bytes at ${at} runs past the end of the file`);
      this.need(len);
      this.pos += len;
    }
  }

  private sequence(explicit: boolean, depth: number, length: number | undefined): DataSet[] {
    const end = length === undefined ? undefined : this.pos + length;
    if (end !== undefined && end > this.fileSize) {
      throw new ImageboxError('E_TRUNCATED', `a DICOM sequence of ${length} bytes at ${this.pos} runs past the end of the file`);
    }
    const items: DataSet[] = [];
    for (;;) {
      if (end !== undefined && this.pos >= end) {
        if (this.pos > end) throw new ImageboxError('E_MALFORMED', `a DICOM sequence overruns its length (at ${this.pos})`);
        return items;
      }
      const at = this.pos;
      const g = this.u16();
      const e = this.u16();
      const t = ((g << 16) | e) >>> 0;
      const len = this.u32();
      if (t === T.SequenceDelimitation) {
        if (end !== undefined) throw new ImageboxError('E_MALFORMED', `a Sequence Delimitation inside a defined-length sequence (at ${at})`);
        return items;
      }
      if (t !== T.Item) throw new ImageboxError('E_MALFORMED', `${hex(t)} where a sequence item was expected (at ${at})`);
      this.count();
      if (len !== UNDEFINED && this.pos + len > (end ?? this.fileSize)) {
        throw new ImageboxError('E_MALFORMED', `a DICOM item of ${len} bytes at ${at} overruns its sequence or the file`);
      }
      items.push(this.dataSet(explicit, depth + 1, len === UNDEFINED ? undefined : this.pos + len, false));
    }
  }
}

function hex(t: Tag): string {
  return `(${(t >>> 16).toString(16).padStart(4, '0').toUpperCase()},${(t & 0xffff).toString(16).padStart(4, '0').toUpperCase()})`;
}

/** Whether bytes start like a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
export function isDicom(head: Uint8Array): boolean {
  return head.length >= 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4d;
}

/** Read a Part 10 header from a source, up to (not into) the pixel data. */
export async function readDicomHeader(source: ByteSource, options: DicomReadOptions = {}, signal?: AbortSignal): Promise<DicomHeader> {
  const o = { ...DEFAULTS, ...options };
  let buf = await readHead(source, o.headBytes, signal);
  const size = await source.size();
  if (!isDicom(buf)) throw new ImageboxError('E_NOT_A_SLIDE', 'not a DICOM file (no "DICM" after the 128-byte preamble)');
  for (;;) {
    try {
      return parseHeader(buf, size, o);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      if (buf.length >= o.maxHeaderBytes) {
        throw new ImageboxError('E_TOO_LARGE', `the DICOM header is larger than ${o.maxHeaderBytes} bytes`);
      }
      const want = Math.min(size, o.maxHeaderBytes, Math.max(buf.length * 2, e.at + 4096));
      const [more] = await source.read([{ offset: buf.length, length: want - buf.length }], signal);
      const grown = new Uint8Array(want);
      grown.set(buf, 0);
      grown.set(more!, buf.length);
      buf = grown;
    }
  }
}

function parseHeader(buf: Uint8Array, size: number, o: Required<DicomReadOptions>): DicomHeader {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const metaParser = new Parser(buf, view, size, o, 132);
  const meta = metaParser.meta();
  const transferSyntax = str(meta, T.TransferSyntaxUID);
  if (!transferSyntax) throw new ImageboxError('E_MALFORMED', 'DICOM file without a Transfer Syntax UID in its File Meta');
  if (transferSyntax === TransferSyntax.ExplicitBig || transferSyntax === TransferSyntax.Deflated) {
    throw new ImageboxError('E_NOT_A_SLIDE', `DICOM transfer syntax ${transferSyntax} is not supported (big-endian or deflated data sets)`);
  }
  const explicit = transferSyntax !== TransferSyntax.ImplicitLittle;
  const p = new Parser(buf, view, size, o, metaParser.position);
  const dataSet = p.dataSet(explicit, 0, undefined, true);
  return { meta, dataSet, transferSyntax, pixelData: p.pixelData, size, headerBytes: buf.length, window: buf };
}

// --- values -------------------------------------------------------------------

const latin1 = new TextDecoder('latin1');

/** A text value, trailing spaces and NULs removed. */
export function str(ds: DataSet, t: Tag): string | undefined {
  const e = ds.get(t);
  if (!e?.value) return undefined;
  return latin1.decode(e.value).replace(/[\s\0]+$/, '').replace(/^\s+/, '');
}

/** A multi-valued text value, split on backslashes. */
export function strs(ds: DataSet, t: Tag): string[] | undefined {
  const s = str(ds, t);
  return s === undefined ? undefined : s.split('\\').map((x) => x.trim());
}

/** A number from a binary (US, UL, SS, SL, FL, FD) or text (IS, DS) value; the first of several. */
export function num(ds: DataSet, t: Tag): number | undefined {
  return nums(ds, t)?.[0];
}

export function nums(ds: DataSet, t: Tag): number[] | undefined {
  const e = ds.get(t);
  if (!e?.value) return undefined;
  const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
  const out: number[] = [];
  const each = (size: number, read: (at: number) => number): number[] => {
    for (let at = 0; at + size <= e.value!.length; at += size) out.push(read(at));
    return out;
  };
  switch (e.vr) {
    case 'US':
      return each(2, (a) => v.getUint16(a, true));
    case 'SS':
      return each(2, (a) => v.getInt16(a, true));
    case 'UL':
      return each(4, (a) => v.getUint32(a, true));
    case 'SL':
      return each(4, (a) => v.getInt32(a, true));
    case 'FL':
      return each(4, (a) => v.getFloat32(a, true));
    case 'FD':
      return each(8, (a) => v.getFloat64(a, true));
    case 'OV':
    case 'UV':
      return each(8, (a) => {
        const x = v.getBigUint64(a, true);
        if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageboxError('E_TOO_LARGE', `a 64-bit DICOM value ${x} is beyond 2^53`);
        return Number(x);
      });
    default: {
      const s = strs(ds, t);
      if (!s) return undefined;
      const n = s.map(Number);
      return n.some((x) => !Number.isFinite(x)) ? undefined : n;
    }
  }
}

/** The first item of a sequence. */
export function item(ds: DataSet | undefined, t: Tag): DataSet | undefined {
  return ds?.get(t)?.items?.[0];
}

export function bytesOf(ds: DataSet, t: Tag): Uint8Array | undefined {
  return ds.get(t)?.value;
}
