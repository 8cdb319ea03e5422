// What a vendor reader makes of a TIFF: which directories are pyramid levels,
// which are associated images, and the slide's properties (OpenSlide's names).
import type { ImageInfo } from './tiff/ifd.js';
import type { TiffFile } from './tiff/tiff-file.js';

export interface LayoutLevel {
  info: ImageInfo;
  /** Where it sits in the TIFF: main-chain index, and SubIFD index if any. */
  ifdIndex: number;
  subIfdIndex: number | undefined;
}

/** One channel of a multi-channel (fluorescence) image: its planes, one image per pyramid level. */
export interface LayoutChannel {
  name: string;
  /** Display colour (OME Channel/@Color), 0..255 each. */
  color: [number, number, number];
  /** The channel's plane at each level, largest first (the same sizes and tiles as `levels`). */
  levels: ImageInfo[];
}

export interface SlideLayout {
  /** OpenSlide's vendor name where OpenSlide reads the file ('aperio', 'generic-tiff'), else ours ('ome-tiff'). */
  vendor: string;
  /** Largest first. */
  levels: LayoutLevel[];
  associated: Map<string, ImageInfo>;
  /** OpenSlide-style properties (tiff.*, aperio.*, openslide.*). */
  properties: Record<string, string>;
  mppX: number | undefined;
  mppY: number | undefined;
  objectivePower: number | undefined;
  /** Multi-channel images (OME-TIFF fluorescence): the channels, `levels` being channel 0's. */
  channels?: LayoutChannel[];
  /** Where we knowingly read the file differently from OpenSlide 3.4.1, and why. */
  notes: string[];
}

export type VendorReader = (tiff: TiffFile) => SlideLayout | undefined;
