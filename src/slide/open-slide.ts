// openSlide: a ByteSource (or a path/URL, resolved by an injected opener) -> Slide.
// Isomorphic: the Node entry (src/node/open-slide.ts) injects file and undici sources.
import { asImageboxError, isImageboxError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { readLayout } from '../formats/read-layout.js';
import { isNdpi, readNdpi } from '../formats/ndpi.js';
import { openTiff, type TiffOpenOptions } from '../formats/tiff/tiff-file.js';
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
  try {
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
  } catch (e) {
    if (typeof input === 'string') await source.close?.().catch(() => undefined);
    throw asImageboxError(e, 'E_MALFORMED');
  }
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
