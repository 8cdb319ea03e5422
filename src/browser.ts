// Browser / Web Worker entry: the isomorphic core with the fetch transport.
// Imports no node: module (test/isomorphic.test.ts bundles it with esbuild).
import { ImageboxError } from './errors.js';
import type { ByteSource } from './io/byte-source.js';
import { FetchTransport } from './io/fetch-transport.js';
import { HttpSource, type HttpSourceOptions } from './io/http-source.js';
import { RangeScheduler, type RangeSchedulerOptions } from './io/range-scheduler.js';
import { openDicomWebSlide as openDicomWebCore, openSlide as openSlideCore, type OpenSlideOptions } from './slide/open-slide.js';
import { DicomWebClient, type DicomWebClientOptions } from './io/dicomweb-client.js';
import type { DicomWebOptions } from './formats/dicom/dicomweb-series.js';
import type { Slide } from './slide/slide.js';

export interface BrowserOpenOptions extends OpenSlideOptions {
  http?: Omit<HttpSourceOptions, 'transport'>;
  scheduler?: RangeSchedulerOptions;
}

/** A URL's bytes through fetch() + range requests, behind a RangeScheduler. */
export function openUrlSource(url: string, options: BrowserOpenOptions = {}): ByteSource {
  if (!/^https?:\/\//i.test(url) && !url.startsWith('/')) {
    throw new ImageboxError('E_BAD_REQUEST', `only http(s) URLs can be read in the browser: ${url}`);
  }
  const absolute = new URL(url, globalThis.location?.href).href;
  return new RangeScheduler(new HttpSource(absolute, { ...options.http, transport: new FetchTransport() }), options.scheduler);
}

/** A slide from a URL or source, or a DICOM WSI series from the URLs/sources of its instances. */
export function openSlide(input: string | ByteSource | Array<string | ByteSource>, options: BrowserOpenOptions = {}): Promise<Slide> {
  return openSlideCore(input, { ...options, openSource: options.openSource ?? ((url) => openUrlSource(url, options)) });
}

/** A DICOM WSI series on a DICOMweb origin (its series URL) through fetch(): WADO-RS metadata and frames. */
export function openDicomWebSlide(
  seriesUrl: string,
  options: OpenSlideOptions & { client?: Partial<DicomWebClientOptions>; dicomweb?: DicomWebOptions } = {},
): Promise<Slide> {
  const absolute = new URL(seriesUrl, globalThis.location?.href).href;
  const client = new DicomWebClient({ ...options.client, transport: options.client?.transport ?? new FetchTransport() });
  return openDicomWebCore(absolute, client, options);
}

export { Slide } from './slide/slide.js';
export { ImageboxError, isImageboxError } from './errors.js';
export { MemorySource } from './io/memory-source.js';
export type { Level } from './slide/types.js';
export { Compression, Photometric, type EncodedTile } from './contracts/tile.js';
export type { RGBA, PixelReader } from './contracts/pixels.js';
