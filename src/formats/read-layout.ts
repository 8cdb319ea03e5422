// Which vendor reader understands this TIFF: the first that claims it.
import { ImageboxError } from '../errors.js';
import { readAperio } from './aperio.js';
import { readGenericTiff } from './generic-tiff.js';
import { readLeica } from './leica.js';
import { readOmeTiff } from './ome-tiff.js';
import { readPhilips } from './philips.js';
import { readVentana } from './ventana.js';
import type { SlideLayout, VendorReader } from './slide-layout.js';
import type { TiffFile } from './tiff/tiff-file.js';

export const VENDOR_READERS: readonly VendorReader[] = [readAperio, readPhilips, readLeica, readVentana, readOmeTiff, readGenericTiff];

export function readLayout(tiff: TiffFile): SlideLayout {
  for (const reader of VENDOR_READERS) {
    const layout = reader(tiff);
    if (layout) return layout;
  }
  throw new ImageboxError('E_NOT_A_SLIDE', 'TIFF file without a readable image (no tile or strip offsets)');
}
