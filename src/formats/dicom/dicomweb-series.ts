// A DICOM WSI series on a DICOMweb origin (`.../studies/{uid}/series/{uid}`)
// as a slide. Open: one WADO-RS Retrieve Series Metadata request
// (`.../metadata`, application/dicom+json: every instance of the series, which
// is what a QIDO-RS instance search would list, with all their attributes;
// an origin without series-level metadata is asked with QIDO-RS
// `.../instances`, then each instance's `.../metadata`), turned into the DataSets the Part 10 reader makes, so dicom-layout.ts builds
// levels, frame placement (TILED_FULL / TILED_SPARSE), associated images and
// MPP as for files. The metadata does not carry the stored transfer syntax
// (File Meta is not part of it) unless the origin adds Transfer Syntax UID
// (0002,0010) or Available Transfer Syntax UID (0008,3002): for the other
// instances frame 1 is asked at open (one request per instance, in parallel;
// the part's `transfer-syntax` parameter tells, and the frame is kept).
//
// The slide's source is a frame source: an address space of frames, one
// address per frame (instance k's frame i at base_k + i, "length" 1), so the
// Slide reads a tile as it reads a TIFF tile (offset + byte count from the
// level's arrays) and gets the frame's bytes, whatever length they have.
// Frames asked in the same tick are batched per instance into one
// `.../frames/a,b,c` request (Accept multipart/related; transfer-syntax=*:
// the stored bytes, so JPEG frames pass through); a byte-bounded cache and
// single flight sit in front. Isomorphic.
import { ImageboxError, asImageboxError } from '../../errors.js';
import { newStats, type ByteRange, type ByteSource, type IoStats } from '../../io/byte-source.js';
import { mediaParam, parseRelated, type DicomWebClient } from '../../io/dicomweb-client.js';
import { redactUrl } from '../../io/http-source.js';
import { SpanCache, type ByteBudget } from '../../io/span-cache.js';
import { T, num, str, type DataSet, type DicomHeader } from './data-set.js';
import { dataSetFromJson } from './dicom-json.js';
import { dicomLayout, type DicomInstance, type DicomLayout } from './dicom-layout.js';
import { MAX_INSTANCES } from './dicom-series.js';
import { MAX_FRAMES } from './frames.js';

export const FRAMES_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
const METADATA_ACCEPT = 'application/dicom+json, application/json;q=0.9';

export interface DicomWebOptions {
  /** Largest metadata answer (default 256 MiB: a million-frame TILED_SPARSE series). */
  maxMetadataBytes?: number;
  /** Largest frame (default 32 MiB). */
  maxFrameBytes?: number;
  /** Most frames in one frames/a,b,c request (default 32). */
  maxFramesPerRequest?: number;
  /** Frame cache (default 64 MiB). */
  cacheBytes?: number;
  /** A byte budget shared with other slides' caches (the server's span budget). */
  budget?: ByteBudget | undefined;
  /** Parallel requests at open for the transfer syntax probes and per-instance metadata (default 8). */
  probeConcurrency?: number;
  /**
   * How the instances are found: 'series' (default) one Retrieve Series Metadata
   * request, falling back to 'instances' when the origin does not offer it (an
   * answer other than 200/401/403/404); 'instances': a QIDO-RS instance search,
   * then each instance's metadata.
   */
  metadata?: 'series' | 'instances';
}

const SERIES_PATH = /\/studies\/([0-9.]{1,64})\/series\/([0-9.]{1,64})\/?$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Whether a URL names a DICOMweb series (`.../studies/{uid}/series/{uid}`). */
export function isDicomWebSeriesUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && SERIES_PATH.test(u.pathname) && u.search === '';
  } catch {
    return false;
  }
}

interface WebInstance {
  url: string;
  sop: string;
  dataSet: DataSet;
  transferSyntax: string | undefined;
  frames: number;
  base: number;
}

interface Pending {
  frame: number;
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** The frames of a series' instances as one address space of frames (see the file comment). */
export class DicomWebFrameSource implements ByteSource {
  readonly id: string;
  /** Frames by address x maxFrameBytes (a span each, never overlapping), bounded by bytes and the shared budget. */
  private readonly cache: SpanCache;
  /** Length of each cached frame (what a cache lookup needs). */
  private readonly lengths = new Map<number, number>();
  private readonly inflight = new Map<number, Promise<Uint8Array>>();
  private readonly queued = new Map<number, Pending[]>();
  private flushing = false;
  private readonly counters = newStats();
  private total = 0;

  constructor(
    readonly seriesUrl: string,
    private readonly client: DicomWebClient,
    private readonly instances: WebInstance[],
    private readonly o: Options,
  ) {
    this.id = redactUrl(new URL(seriesUrl));
    for (const i of instances) this.total = Math.max(this.total, i.base + i.frames);
    if (this.total > MAX_SERIES_FRAMES) throw new ImageboxError('E_TOO_LARGE', `${this.total} frames in one series (at most ${MAX_SERIES_FRAMES})`);
    this.cache = new SpanCache(o.cacheBytes, o.budget);
  }

  private cachedFrame(address: number): Uint8Array | undefined {
    const n = this.lengths.get(address);
    if (n === undefined) return undefined;
    const hit = this.cache.get(address * this.o.maxFrameBytes, n);
    if (!hit) this.lengths.delete(address);
    return hit;
  }

  async size(): Promise<number> {
    return this.total;
  }

  /** The requests, bytes sent and received by the client (every origin request of this slide). */
  stats(): IoStats {
    const s = this.client.stats();
    return { ...s, bytesRequested: this.counters.bytesRequested };
  }

  /** Paths of the origin requests made (the last 256). */
  get requestLog(): readonly string[] {
    return this.client.log;
  }

  private instanceAt(address: number): WebInstance {
    let lo = 0;
    let hi = this.instances.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.instances[mid]!.base <= address) lo = mid;
      else hi = mid - 1;
    }
    const inst = this.instances[lo]!;
    if (address < inst.base || address >= inst.base + inst.frames) throw new ImageboxError('E_TRUNCATED', `frame address ${address} is outside the series`);
    return inst;
  }

  /** One frame per range: range.offset is a frame address; the frame's bytes come back whole. */
  read(ranges: ByteRange[], signal?: AbortSignal): Promise<Uint8Array[]> {
    return Promise.all(ranges.map((r) => this.frame(r.offset, signal)));
  }

  /** Read frames into the cache in the background (the IIIF neighbour prefetch). */
  prefetch(ranges: ByteRange[]): void {
    for (const r of ranges) this.frame(r.offset).catch(() => undefined);
  }

  private frame(address: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!Number.isSafeInteger(address) || address < 0 || address >= this.total) {
      return Promise.reject(new ImageboxError('E_TRUNCATED', `frame address ${address} is outside the series (${this.total} frames)`));
    }
    const hit = this.cachedFrame(address);
    if (hit) {
      this.counters.bytesRequested += hit.length;
      return Promise.resolve(hit);
    }
    let p = this.inflight.get(address);
    if (!p) {
      p = new Promise<Uint8Array>((resolve, reject) => {
        const inst = this.instanceAt(address);
        let q = this.queued.get(inst.base);
        if (!q) this.queued.set(inst.base, (q = []));
        q.push({ frame: address - inst.base + 1, resolve, reject });
      });
      this.inflight.set(address, p);
      const done = (): void => {
        this.inflight.delete(address);
      };
      p.then(done, done);
      this.scheduleFlush();
    }
    const shared = p;
    const out = shared.then((b) => {
      this.counters.bytesRequested += b.length;
      return b;
    });
    if (!signal) return out;
    // a caller that gives up stops waiting; the shared request goes on for the others and the cache
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ImageboxError('E_ABORTED', 'the request was cancelled'));
      const onAbort = (): void => reject(new ImageboxError('E_ABORTED', 'the request was cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      out.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Flush after the reads of this tick have queued (a few microtask hops: callers reach read() at slightly different depths). */
  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    let hops = 8;
    const step = (): void => {
      if (--hops > 0) {
        queueMicrotask(step);
        return;
      }
      this.flushing = false;
      this.flush();
    };
    queueMicrotask(step);
  }

  private flush(): void {
    const batches = [...this.queued];
    this.queued.clear();
    for (const [base, pending] of batches) {
      const inst = this.instances.find((i) => i.base === base)!;
      pending.sort((a, b) => a.frame - b.frame);
      for (let i = 0; i < pending.length; i += this.o.maxFramesPerRequest) {
        const chunk = pending.slice(i, i + this.o.maxFramesPerRequest);
        this.fetchFrames(inst, chunk).catch((e: unknown) => chunk.forEach((p) => p.reject(e)));
      }
    }
  }

  private async fetchFrames(inst: WebInstance, chunk: Pending[]): Promise<void> {
    const frames = await fetchFrames(this.client, inst, chunk.map((p) => p.frame), this.o);
    chunk.forEach((p, k) => {
      const bytes = frames[k]!.data;
      this.remember(inst.base + p.frame - 1, bytes);
      p.resolve(bytes);
    });
  }

  remember(address: number, bytes: Uint8Array): void {
    if (bytes.length === 0 || bytes.length > this.o.cacheBytes / 4 || bytes.length > this.o.maxFrameBytes) return;
    if (this.lengths.size > 1 << 20) this.lengths.clear(); // lengths of long-evicted frames: the cache re-learns
    this.lengths.set(address, bytes.length);
    this.cache.put(address * this.o.maxFrameBytes, bytes);
  }

  async close(): Promise<void> {
    this.cache.dispose();
    this.lengths.clear();
  }
}

/** frames/a,b,c of one instance: the parts in the order asked, each checked against the instance's transfer syntax. */
async function fetchFrames(client: DicomWebClient, inst: Pick<WebInstance, 'url' | 'transferSyntax'>, frames: number[], o: Options, signal?: AbortSignal): Promise<Array<{ data: Uint8Array; transferSyntax: string | undefined }>> {
  const cap = Math.min(frames.length * (o.maxFrameBytes + 16 * 1024), MAX_FRAMES_ANSWER_BYTES);
  const answer = await client.get(`${inst.url}/frames/${frames.join(',')}`, FRAMES_ACCEPT, cap, signal);
  const parts = parseRelated(answer.body, answer.contentType, frames.length);
  if (parts.length !== frames.length) throw new ImageboxError('E_ORIGIN', `${redactUrl(new URL(inst.url))}: ${parts.length} frames answered for ${frames.length} asked`);
  // the transfer syntax: the part's own parameter, else the multipart's type parameter
  const outer = mediaParam(answer.contentType, 'type');
  const outerTs = outer ? mediaParam(`x;${outer.slice(outer.indexOf(';') + 1)}`, 'transfer-syntax') : undefined;
  return parts.map((p, k) => {
    if (p.data.length > o.maxFrameBytes) throw new ImageboxError('E_TOO_LARGE', `frame ${frames[k]} of ${p.data.length} bytes (at most ${o.maxFrameBytes})`);
    const ts = mediaParam(p.contentType, 'transfer-syntax') ?? outerTs;
    if (inst.transferSyntax !== undefined && ts !== undefined && ts !== inst.transferSyntax) {
      throw new ImageboxError('E_ORIGIN', `${redactUrl(new URL(inst.url))}: frame ${frames[k]} came in transfer syntax ${ts}, not the stored ${inst.transferSyntax}`);
    }
    // a copy: a cached frame must not keep the whole batch's body alive
    return { data: frames.length > 1 ? p.data.slice() : p.data, transferSyntax: ts };
  });
}

export interface DicomWebSeries {
  source: DicomWebFrameSource;
  layout: DicomLayout;
}

type Options = Omit<Required<DicomWebOptions>, 'budget'> & { budget: ByteBudget | undefined };

const DEFAULTS: Options = {
  maxMetadataBytes: 256 * 1024 * 1024,
  maxFrameBytes: 32 * 1024 * 1024,
  maxFramesPerRequest: 32,
  cacheBytes: 64 * 1024 * 1024,
  probeConcurrency: 8,
  metadata: 'series',
  budget: undefined,
};

/** Most bytes of one frames/a,b,c answer. */
const MAX_FRAMES_ANSWER_BYTES = 256 * 1024 * 1024;

/** Most frames of one series (frame addresses times the frame cap stay below 2^53). */
const MAX_SERIES_FRAMES = 1 << 28;

async function jsonArray(client: DicomWebClient, url: string, what: string, maxBytes: number, signal?: AbortSignal): Promise<unknown[]> {
  const answer = await client.get(url, METADATA_ACCEPT, maxBytes, signal);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(answer.body));
  } catch {
    throw new ImageboxError('E_ORIGIN', `${redactUrl(new URL(url))}: the ${what} is not JSON`);
  }
  if (!Array.isArray(json)) throw new ImageboxError('E_ORIGIN', `${redactUrl(new URL(url))}: the ${what} is not an array`);
  return json;
}

/** Every instance's metadata: Retrieve Series Metadata, or QIDO-RS + Retrieve Instance Metadata. */
async function seriesMetadata(client: DicomWebClient, base: string, o: Options, signal?: AbortSignal): Promise<unknown[]> {
  if (o.metadata === 'series') {
    try {
      return await jsonArray(client, `${base}/metadata`, 'series metadata', o.maxMetadataBytes, signal);
    } catch (e) {
      // an origin without series-level metadata (400, 405, 406, 501...): search and ask per instance
      const status = (e as ImageboxError).details?.['status'];
      if (!(e instanceof ImageboxError) || e.code !== 'E_ORIGIN' || typeof status !== 'number') throw e;
    }
  }
  const found = await jsonArray(client, `${base}/instances`, 'instance search', 64 * 1024 * 1024, signal);
  if (found.length > MAX_INSTANCES) throw new ImageboxError('E_TOO_LARGE', `${found.length} instances in one series (at most ${MAX_INSTANCES})`);
  const sops = found.map((j) => {
    const sop = str(dataSetFromJson(j), T.SOPInstanceUID) ?? '';
    if (!UID.test(sop) || sop.length > 64) throw new ImageboxError('E_ORIGIN', `${redactUrl(new URL(base))}: an instance without a valid SOP Instance UID`);
    return sop;
  });
  const out: unknown[] = [];
  for (let k = 0; k < sops.length; k += o.probeConcurrency) {
    const got = await Promise.all(
      sops.slice(k, k + o.probeConcurrency).map((sop) => jsonArray(client, `${base}/instances/${sop}/metadata`, 'instance metadata', o.maxMetadataBytes, signal)),
    );
    for (const g of got) out.push(...g.slice(0, 1));
  }
  return out;
}

export async function openDicomWebSeries(seriesUrl: string, client: DicomWebClient, options: DicomWebOptions = {}, signal?: AbortSignal): Promise<DicomWebSeries> {
  const o = { ...DEFAULTS, ...options };
  const url = new URL(seriesUrl);
  const m = SERIES_PATH.exec(url.pathname);
  if (!m || url.search !== '' || !UID.test(m[1]!) || !UID.test(m[2]!)) {
    throw new ImageboxError('E_BAD_REQUEST', `${redactUrl(url)} is not a DICOMweb series URL (.../studies/{uid}/series/{uid})`);
  }
  const base = url.href.replace(/\/$/, '');
  const json = await seriesMetadata(client, base, o, signal);
  if (json.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', `${redactUrl(url)}: a series without instances`);
  if (json.length > MAX_INSTANCES) throw new ImageboxError('E_TOO_LARGE', `${json.length} instances in one series (at most ${MAX_INSTANCES})`);
  const sets = json.map((j) => dataSetFromJson(j));
  const wsi = sets.filter((ds) => str(ds, T.SOPClassUID) === '1.2.840.10008.5.1.4.1.1.77.1.6');
  if (wsi.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', `${redactUrl(url)}: no VL Whole Slide Microscopy Image instance in the series`);
  const order = wsi.map((ds, i) => ({ ds, i, n: num(ds, T.InstanceNumber) ?? Number.MAX_SAFE_INTEGER, sop: str(ds, T.SOPInstanceUID) ?? '' }));
  order.sort((a, b) => a.n - b.n || (a.sop < b.sop ? -1 : a.sop > b.sop ? 1 : a.i - b.i));
  let next = 0;
  const instances: WebInstance[] = order.map(({ ds, sop }) => {
    if (!UID.test(sop) || sop.length > 64) throw new ImageboxError('E_ORIGIN', `${redactUrl(url)}: an instance without a valid SOP Instance UID`);
    const frames = num(ds, T.NumberOfFrames) ?? 1;
    if (!Number.isInteger(frames) || frames < 1) throw new ImageboxError('E_MALFORMED', `Number of Frames ${frames}`);
    if (frames > MAX_FRAMES) throw new ImageboxError('E_TOO_LARGE', `${frames} frames (at most ${MAX_FRAMES})`);
    const ts = str(ds, T.TransferSyntaxUID) ?? str(ds, AVAILABLE_TS);
    const inst: WebInstance = { url: `${base}/instances/${sop}`, sop, dataSet: ds, transferSyntax: ts, frames, base: next };
    next += frames;
    return inst;
  });
  const source = new DicomWebFrameSource(base, client, instances, o);
  // the stored transfer syntax of instances the metadata does not tell: frame 1 says it;
  // the base level's ICC profile when it is bulk data: in parallel
  const unknown = instances.filter((i) => i.transferSyntax === undefined);
  const probes = (async () => {
    for (let k = 0; k < unknown.length; k += o.probeConcurrency) {
      await Promise.all(
        unknown.slice(k, k + o.probeConcurrency).map(async (inst) => {
          const [first] = await fetchFrames(client, inst, [1], o, signal);
          const ts = first!.transferSyntax ?? sniffTransferSyntax(first!.data, inst.dataSet);
          if (!ts) throw new ImageboxError('E_ORIGIN', `${redactUrl(new URL(inst.url))}: the frame answer does not name its transfer syntax, and its bytes do not tell`);
          inst.transferSyntax = ts;
          source.remember(inst.base, first!.data);
        }),
      );
    }
  })();
  await Promise.all([probes, fetchIccProfile(client, base, instances, signal)]);
  const dicomInstances: DicomInstance[] = instances.map((inst) => {
    const header: DicomHeader = {
      meta: new Map(),
      dataSet: inst.dataSet,
      transferSyntax: inst.transferSyntax!,
      pixelData: undefined,
      size: 0,
      headerBytes: 0,
      window: new Uint8Array(0),
    };
    const offsets = new Float64Array(inst.frames);
    for (let i = 0; i < inst.frames; i++) offsets[i] = i;
    return { header, table: { offsets, lengths: new Float64Array(inst.frames).fill(1), how: 'dicomweb', reads: 0, walker: undefined }, base: inst.base };
  });
  let layout: DicomLayout;
  try {
    layout = dicomLayout(dicomInstances);
  } catch (e) {
    throw asImageboxError(e, 'E_MALFORMED');
  }
  layout.properties['dicom.source'] = 'dicomweb';
  return { source, layout };
}

/**
 * The transfer syntax of a frame whose answer does not name it (an origin that
 * leaves out the `transfer-syntax` parameter), from its bytes: a JPEG stream
 * (SOI; baseline and extended decode alike), a JPEG 2000 codestream (SOC SIZ;
 * reversible or not, the decoder reads both), or exactly the bytes of a native
 * frame. Else undefined.
 */
function sniffTransferSyntax(b: Uint8Array, ds: DataSet): string | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return '1.2.840.10008.1.2.4.50';
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) return '1.2.840.10008.1.2.4.90';
  const native = (num(ds, T.Rows) ?? 0) * (num(ds, T.Columns) ?? 0) * (num(ds, T.SamplesPerPixel) ?? 1) * Math.ceil((num(ds, T.BitsAllocated) ?? 8) / 8);
  if (native > 0 && (b.length === native || b.length === native + (native & 1))) return '1.2.840.10008.1.2.1';
  return undefined;
}

/** Most bytes of an ICC profile fetched as bulk data. */
const MAX_ICC_BYTES = 4 * 1024 * 1024;
const ASSOCIATED_FLAVOURS = new Set(['LABEL', 'OVERVIEW', 'THUMBNAIL']);

/**
 * The ICC profile of the base level's first optical path when the metadata gives
 * it as a BulkDataURI (Orthanc does): one request at open, in parallel with the
 * probes' aftermath; only on the series' own origin (its credentials go nowhere
 * else). The element gets the bytes, so the layout reads it as from a file.
 */
async function fetchIccProfile(client: DicomWebClient, seriesUrl: string, instances: WebInstance[], signal?: AbortSignal): Promise<void> {
  let baseInst: WebInstance | undefined;
  let width = -1;
  for (const inst of instances) {
    const flavour = (str(inst.dataSet, T.ImageType)?.split('\\')[2] ?? 'VOLUME').trim().toUpperCase();
    if (ASSOCIATED_FLAVOURS.has(flavour)) continue;
    const w = num(inst.dataSet, T.TotalPixelMatrixColumns) ?? num(inst.dataSet, T.Columns) ?? 0;
    if (w > width) {
      width = w;
      baseInst = inst;
    }
  }
  if (!baseInst) return;
  const el = [...(baseInst.dataSet.get(T.OpticalPathSequence)?.items ?? []).map((p) => p.get(T.ICCProfile)), baseInst.dataSet.get(T.ICCProfile)].find(
    (e) => e !== undefined && (e.value?.length || e.bulkDataUri),
  );
  if (!el || el.value?.length || !el.bulkDataUri) return;
  let uri: URL;
  try {
    uri = new URL(el.bulkDataUri, seriesUrl + '/');
  } catch {
    return;
  }
  if (uri.origin !== new URL(seriesUrl).origin) return; // credentials stay on the series' origin
  const answer = await client.get(uri.href, 'multipart/related; type="application/octet-stream"', MAX_ICC_BYTES + 16 * 1024, signal);
  const [part] = parseRelated(answer.body, answer.contentType, 1);
  if (!part || part.data.length > MAX_ICC_BYTES) throw new ImageboxError('E_ORIGIN', `${redactUrl(uri)}: no ICC profile in the bulk data answer`);
  el.value = part.data;
  el.length = part.data.length;
}

/** Available Transfer Syntax UID (0008,3002): what some origins add to instance metadata. */
const AVAILABLE_TS = 0x00083002;
