// The DICOM JSON model (PS3.18 F.2, `application/dicom+json`: what WADO-RS
// metadata and QIDO-RS answer) turned into the DataSet the Part 10 reader
// makes, so the one layout code (dicom-layout.ts) reads both: each value is
// encoded as it would sit in an Explicit VR Little Endian file (text joined by
// backslashes, binary numbers little-endian, InlineBinary decoded), sequences
// become items. BulkDataURI values are kept as URIs, not fetched. Counts
// and nesting are capped before anything is built. Isomorphic.
import { ImageboxError } from '../../errors.js';
import type { DataSet, Element } from './data-set.js';

export interface DicomJsonLimits {
  /** Most elements and items in all (default 4M). */
  maxElements?: number;
  /** Deepest sequence nesting (default 12). */
  maxDepth?: number;
}

const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const BINARY: Record<string, { size: number; put: (v: DataView, at: number, x: number) => void }> = {
  US: { size: 2, put: (v, a, x) => v.setUint16(a, x, true) },
  SS: { size: 2, put: (v, a, x) => v.setInt16(a, x, true) },
  UL: { size: 4, put: (v, a, x) => v.setUint32(a, x, true) },
  SL: { size: 4, put: (v, a, x) => v.setInt32(a, x, true) },
  FL: { size: 4, put: (v, a, x) => v.setFloat32(a, x, true) },
  FD: { size: 8, put: (v, a, x) => v.setFloat64(a, x, true) },
  SV: { size: 8, put: (v, a, x) => v.setBigInt64(a, BigInt(Math.trunc(x)), true) },
  UV: { size: 8, put: (v, a, x) => v.setBigUint64(a, BigInt(Math.trunc(x)), true) },
};
const INLINE_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const TAG_KEY = /^[0-9A-Fa-f]{8}$/;

const latin1 = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c < 256 ? c : 0x3f; // '?': the layout reads ASCII values (UIDs, codes, numbers)
  }
  return out;
};

function bad(msg: string): ImageboxError {
  return new ImageboxError('E_ORIGIN', `malformed DICOM JSON: ${msg}`);
}

function base64(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s.replace(/\s+/g, ''));
  } catch {
    throw bad('InlineBinary is not base64');
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

class Builder {
  private count = 0;
  constructor(private readonly o: Required<DicomJsonLimits>) {}

  dataSet(json: unknown, depth: number): DataSet {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('a data set is not an object');
    if (depth > this.o.maxDepth) throw new ImageboxError('E_TOO_LARGE', `DICOM JSON nested deeper than ${this.o.maxDepth} sequences`);
    const ds: DataSet = new Map();
    for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
      if (++this.count > this.o.maxElements) throw new ImageboxError('E_TOO_LARGE', `DICOM JSON with more than ${this.o.maxElements} elements`);
      if (!TAG_KEY.test(key)) throw bad(`attribute key "${key.slice(0, 16)}" is not 8 hex digits`);
      if (raw === null || typeof raw !== 'object') throw bad(`attribute ${key} is not an object`);
      const a = raw as { vr?: unknown; Value?: unknown; InlineBinary?: unknown };
      const vr = typeof a.vr === 'string' && /^[A-Z]{2}$/.test(a.vr) ? a.vr : undefined;
      if (!vr) throw bad(`attribute ${key} without a VR`);
      const t = Number.parseInt(key, 16) >>> 0;
      const el = this.element(t, vr, a, depth, key);
      if (el) ds.set(t, el);
    }
    return ds;
  }

  private element(tag: number, vr: string, a: { Value?: unknown; InlineBinary?: unknown; BulkDataURI?: unknown }, depth: number, key: string): Element | undefined {
    const make = (value: Uint8Array | undefined, items?: DataSet[]): Element => ({ tag, vr, offset: 0, length: value?.length, value, items });
    if (vr === 'SQ') {
      const v = a.Value ?? [];
      if (!Array.isArray(v)) throw bad(`sequence ${key} is not an array`);
      return make(undefined, v.map((it) => this.dataSet(it, depth + 1)));
    }
    if (INLINE_VRS.has(vr)) {
      if (typeof a.InlineBinary === 'string') return make(base64(a.InlineBinary));
      // a BulkDataURI is kept, not fetched (the series opener asks for the few it needs)
      if (typeof a.BulkDataURI === 'string' && a.BulkDataURI.length <= 4096) return { ...make(undefined), bulkDataUri: a.BulkDataURI };
      return undefined;
    }
    const values = a.Value;
    if (values === undefined) return make(new Uint8Array(0));
    if (!Array.isArray(values)) throw bad(`attribute ${key} Value is not an array`);
    if (values.length > this.o.maxElements) throw new ImageboxError('E_TOO_LARGE', `attribute ${key} with ${values.length} values`);
    this.count += values.length;
    if (this.count > this.o.maxElements) throw new ImageboxError('E_TOO_LARGE', `DICOM JSON with more than ${this.o.maxElements} values`);
    const bin = BINARY[vr];
    if (bin) {
      const out = new Uint8Array(values.length * bin.size);
      const view = new DataView(out.buffer);
      values.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`attribute ${key} (${vr}) holds a non-number`);
        bin.put(view, i * bin.size, x);
      });
      return make(out);
    }
    if (TEXT_VRS.has(vr)) {
      const parts = values.map((x) => {
        if (x === null) return '';
        if (typeof x === 'number' && Number.isFinite(x)) return String(x);
        if (typeof x === 'string') return x;
        throw bad(`attribute ${key} (${vr}) holds a ${typeof x}`);
      });
      return make(latin1(parts.join('\\')));
    }
    if (vr === 'PN') {
      const parts = values.map((x) => (x && typeof x === 'object' && typeof (x as { Alphabetic?: unknown }).Alphabetic === 'string' ? (x as { Alphabetic: string }).Alphabetic : ''));
      return make(latin1(parts.join('\\')));
    }
    return undefined; // AT and anything else the layout does not read
  }
}

/** One DICOM JSON data set (an object keyed by "GGGGEEEE") as a DataSet. */
export function dataSetFromJson(json: unknown, limits: DicomJsonLimits = {}): DataSet {
  return new Builder({ maxElements: limits.maxElements ?? 4 * 1024 * 1024, maxDepth: limits.maxDepth ?? 12 }).dataSet(json, 0);
}
