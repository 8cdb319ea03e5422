// openSlide: a ByteSource (or a path/URL, resolved by an injected opener) -> Slide.
// Isomorphic: the Node entry (src/node/open-slide.ts) injects file and undici sources.
import { asImageboxError, isImageboxError } from '../errors.js';
import { readHead, type ByteRange, type ByteSource } from '../io/byte-source.js';
import { decodeOpenEntry, encodeOpenEntry, openCacheKey, type OpenCacheStore } from '../io/open-cache.js';
import { RangeScheduler } from '../io/range-scheduler.js';
import { readLayout } from '../formats/read-layout.js';
import { isNdpi, readNdpi } from '../formats/ndpi.js';
import { openTiff, TIFF_HEAD_BYTES, type TiffOpenOptions } from '../formats/tiff/tiff-file.js';
import type { DicomReadOptions } from '../formats/dicom/data-set.js';
import { openDicomSeries } from '../formats/dicom/dicom-series.js';
import { openDicomWebSeries, type DicomWebOptions } from '../formats/dicom/dicomweb-series.js';
import type { DicomWebClient } from '../io/dicomweb-client.js';
import { Slide, type SlideOptions } from './slide.js';

export interface OpenSlideOptions extends SlideOptions {
  tiff?: TiffOpenOptions;
  dicom?: DicomReadOptions;
  /** Turns a path or URL into a ByteSource (injected by the platform entry). */
  openSource?: (location: string) => ByteSource | Promise<ByteSource>;
  /**
   * Warm re-open (src/io/open-cache.ts): what open reads is kept here, keyed by
   * the source, and a later open of the unchanged slide costs one validating
   * request. Used for a source behind a RangeScheduler that has a validator
   * (an http(s) URL); not for a DICOM series of several files.
   */
  openCache?: OpenCacheStore;
}

/**
 * A slide from one file (TIFF-based, or one DICOM instance), or from the files
 * of one DICOM WSI series (a list: one instance per level, label, overview...).
 */
export async function openSlide(input: string | ByteSource | Array<string | ByteSource>, options: OpenSlideOptions = {}): Promise<Slide> {
  if (Array.isArray(input)) return openDicomSlide(input, options);
  let source: ByteSource;
  if (typeof input === 'string') {
    if (!options.openSource) throw new Error('openSlide(string) needs options.openSource on this platform');
    source = await options.openSource(input);
  } else {
    source = input;
  }
  const cache = options.openCache && source instanceof RangeScheduler ? options.openCache : undefined;
  const key = openCacheKey(source.id);
  try {
    const scheduler = source as RangeScheduler;
    const fresh = cache ? await warmUp(scheduler, cache, key, options.tiff?.headBytes ?? TIFF_HEAD_BYTES) : undefined;
    const slide = await openSingle(source, options);
    if (cache) {
      const kept = fresh ?? (await remember(scheduler, cache, key));
      if (kept) keepArrays(slide, scheduler, cache, key, kept);
    }
    return slide;
  } catch (e) {
    // whatever an entry said, it did not make a slide: gone (the next open is cold)
    if (cache) await cache.delete(key).catch(() => undefined);
    if (typeof input === 'string') await source.close?.().catch(() => undefined);
    throw asImageboxError(e, 'E_MALFORMED');
  }
}

/**
 * The cached entry of `source` checked against the origin with the cold open's
 * own first read (the head: its answer tells the validator and the size). When
 * they match, its spans are in the span cache (fresh: the open needs no other
 * request); when not, or without an entry, the open goes on cold.
 */
async function warmUp(source: RangeScheduler, cache: OpenCacheStore, key: string, headBytes: number): Promise<ByteRange[] | undefined> {
  // the head read and the store's lookup at once: a warm open costs the slower of
  // the two, not their sum; the head is the cold open's own first read, so it is
  // awaited on every path (in the span cache before a cold open starts: no second read)
  const headRead = readHead(source, headBytes).then(
    (bytes) => ({ bytes }),
    (error: unknown) => ({ error }),
  );
  const headOf = async (): Promise<Uint8Array> => {
    const r = await headRead;
    if ('error' in r) throw r.error;
    return r.bytes;
  };
  let bytes: Uint8Array | undefined;
  try {
    bytes = await cache.get(key);
  } catch {
    bytes = undefined; // a store that fails is a store without the entry
  }
  if (!bytes) {
    await headOf();
    return undefined;
  }
  const entry = decodeOpenEntry(bytes, source.id);
  if (!entry) {
    await cache.delete(key).catch(() => undefined); // corrupt, truncated, another key's: never trusted
    await headOf();
    return undefined;
  }
  const head = await headOf();
  const size = await source.size();
  if (source.validator() !== entry.validator || size !== entry.size) return undefined; // changed: replaced after the open
  // The head just read must also be the entry's head, byte for byte (free: the
  // bytes are in hand): a guard against a validator weaker than it claims to be (a
  // Last-Modified of one-second grain, an origin's ETag that is not its content's).
  for (const s of entry.spans) {
    if (s.offset >= head.length) break;
    const n = Math.min(s.data.length, head.length - s.offset);
    for (let i = 0; i < n; i++) if (s.data[i] !== head[s.offset + i]) return undefined;
  }
  for (const s of entry.spans) source.preload(s.offset, s.data);
  return entry.spans.map((s) => ({ offset: s.offset, length: s.data.length }));
}

/** Keep what the open read (the span cache now), under the validator and size it was read with; the ranges kept. */
async function remember(source: RangeScheduler, cache: OpenCacheStore, key: string): Promise<ByteRange[] | undefined> {
  const validator = source.validator();
  if (!validator) return undefined; // nothing to check a later open against
  try {
    const size = await source.size();
    const spans = source.cachedSpans();
    if (spans.length === 0) return undefined;
    await cache.set(key, encodeOpenEntry({ id: source.id, validator, size, spans }));
    return spans.map((s) => ({ offset: s.offset, length: s.data.length }));
  } catch {
    return undefined; // a store that fails costs the next open its warmth, nothing else
  }
}

/**
 * Once a level's offset arrays have loaded (after its first tile), the entry is
 * written again with them, so a tile right after a later warm open costs one
 * request (its bytes), not two. Only while the source is unchanged: every span is
 * taken from the span cache at one moment under the validator the entry has.
 */
function keepArrays(slide: Slide, source: RangeScheduler, cache: OpenCacheStore, key: string, kept: ByteRange[]): void {
  const validator = source.validator();
  if (!validator) return;
  let known = kept;
  const covered = (r: ByteRange): boolean => known.some((k) => k.offset <= r.offset && k.offset + k.length >= r.offset + r.length);
  const off = slide.onArraysLoaded(() => {
    if (source.validator() !== validator) return off();
    const arrays = slide.residentArrayRanges().filter((r) => !covered(r));
    if (arrays.length === 0) return;
    const all = mergeRanges([...known, ...arrays]);
    const spans: { offset: number; data: Uint8Array }[] = [];
    for (const r of all) {
      const data = source.peekCached(r.offset, r.length);
      if (!data) return; // evicted meanwhile: the entry stays as it is
      spans.push({ offset: r.offset, data });
    }
    known = all;
    const size = slide.container.size;
    cache.set(key, encodeOpenEntry({ id: source.id, validator, size, spans })).catch(() => undefined);
  });
}

/** Sorted, with overlapping or touching ranges merged. */
function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) last.length = Math.max(last.length, r.offset + r.length - last.offset);
    else out.push({ offset: r.offset, length: r.length });
  }
  return out;
}

async function openSingle(source: ByteSource, options: OpenSlideOptions): Promise<Slide> {
  let tiff;
  try {
    tiff = await openTiff(source, options.tiff);
  } catch (e) {
    // a DICOM instance on its own: a one-file series
    if (isImageboxError(e, 'E_NOT_A_SLIDE') && e.details?.['dicom'] === true) return await dicomSlide([source], options);
    throw e;
  }
  const slide = new Slide(source, tiff, isNdpi(tiff) ? await readNdpi(tiff) : readLayout(tiff), options);
  // multi-channel: the default contrast limits from the smallest level's histogram
  await slide.loadChannelDefaults();
  return slide;
}

async function dicomSlide(sources: ByteSource[], options: OpenSlideOptions): Promise<Slide> {
  const series = await openDicomSeries(sources, options.dicom);
  return new Slide(series.source, { size: series.size }, series.layout, options);
}

/** The instances of one DICOM series (paths/URLs resolved by options.openSource, or sources). */
async function openDicomSlide(inputs: Array<string | ByteSource>, options: OpenSlideOptions): Promise<Slide> {
  const opened: ByteSource[] = [];
  try {
    for (const input of inputs) {
      if (typeof input !== 'string') opened.push(input);
      else if (!options.openSource) throw new Error('openSlide(string[]) needs options.openSource on this platform');
      else opened.push(await options.openSource(input));
    }
    return await dicomSlide(opened, options);
  } catch (e) {
    // close what we opened ourselves (sources handed in stay the caller's)
    await Promise.all(opened.filter((_, i) => typeof inputs[i] === 'string').map((s) => s.close?.().catch(() => undefined)));
    throw asImageboxError(e, 'E_MALFORMED');
  }
}

/**
 * A DICOM WSI series on a DICOMweb origin (`.../studies/{uid}/series/{uid}`),
 * through `client` (transport, headers, signer, allow list of the platform).
 */
export async function openDicomWebSlide(seriesUrl: string, client: DicomWebClient, options: OpenSlideOptions & { dicomweb?: DicomWebOptions } = {}): Promise<Slide> {
  try {
    const series = await openDicomWebSeries(seriesUrl, client, options.dicomweb);
    return new Slide(series.source, { size: await series.source.size() }, series.layout, options);
  } catch (e) {
    throw asImageboxError(e, 'E_MALFORMED');
  }
}
