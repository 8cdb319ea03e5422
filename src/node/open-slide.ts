// Node entry for opening slides: paths, file: URLs and http(s) URLs (undici),
// always behind a RangeScheduler. A local folder of DICOM instances, or a list
// of paths/URLs, is one DICOM WSI series.
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ImageboxError } from '../errors.js';
import { openByteSource, type OpenSourceOptions } from '../io/open-source-node.js';
import { openDicomWebSlide as openDicomWebCore, openSlide as openSlideCore, type OpenSlideOptions } from '../slide/open-slide.js';
import { DicomWebClient, type DicomWebClientOptions } from '../io/dicomweb-client.js';
import type { DicomWebOptions } from '../formats/dicom/dicomweb-series.js';
import { sharedPublicOnlyTransport, sharedUndiciTransport } from '../io/open-source-node.js';
import type { ByteSource } from '../io/byte-source.js';
import type { Slide } from '../slide/slide.js';
import { nodePixelReader } from '../codecs/pixel-reader-node.js';
import { dicomFolderFiles } from './dicom-folder.js';

export interface NodeOpenSlideOptions extends OpenSlideOptions {
  source?: OpenSourceOptions;
}

/** A local folder's path when `location` names one (a path or a file: URL), else undefined. */
export async function localFolder(location: string): Promise<string | undefined> {
  if (/^https?:\/\//i.test(location)) return undefined;
  const path = location.startsWith('file:') ? fileURLToPath(location) : location;
  const st = await stat(path).catch(() => undefined);
  return st?.isDirectory() ? path : undefined;
}

export async function openSlide(input: string | URL | ByteSource | Array<string | ByteSource>, options: NodeOpenSlideOptions = {}): Promise<Slide> {
  let location: string | ByteSource | Array<string | ByteSource> = input instanceof URL ? input.href : input;
  if (typeof location === 'string') {
    const folder = await localFolder(location);
    if (folder !== undefined) {
      const files = await dicomFolderFiles(folder);
      if (files.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', 'a folder without DICOM files');
      location = files;
    }
  }
  return openSlideCore(location, {
    ...options,
    pixels: options.pixels ?? (await nodePixelReader()),
    openSource: options.openSource ?? ((where) => openByteSource(where, options.source)),
  });
}

export interface NodeDicomWebOptions extends OpenSlideOptions {
  /** Headers, signer, allow list, transport of the DICOMweb requests (transport: the shared undici one). */
  client?: Partial<DicomWebClientOptions>;
  /** Connect only to public addresses (ad-hoc ids). */
  publicOnly?: boolean;
  dicomweb?: DicomWebOptions;
}

/** A DICOM WSI series on a DICOMweb origin: `http(s)://host/dicom-web/studies/{uid}/series/{uid}`. */
export async function openDicomWebSlide(seriesUrl: string, options: NodeDicomWebOptions = {}): Promise<Slide> {
  const transport = options.client?.transport ?? (options.publicOnly ? sharedPublicOnlyTransport() : sharedUndiciTransport());
  const client = new DicomWebClient({ ...options.client, transport });
  return openDicomWebCore(seriesUrl, client, { ...options, pixels: options.pixels ?? (await nodePixelReader()) });
}
