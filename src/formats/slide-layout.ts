// What a vendor reader makes of a TIFF: which directories are pyramid levels,
// which are associated images, and the slide's properties (OpenSlide's names).
import type { ImageInfo } from './tiff/ifd.js';
import type { TiffFile } from './tiff/tiff-file.js';

export interface LayoutLevel {
  info: ImageInfo;
  /** Where it sits in the TIFF: main-chain index, and SubIFD index if any. */
  ifdIndex: number;
  subIfdIndex: number | undefined;
  /** The downsample the vendor states (Philips: rounded from the pixel spacings); else OpenSlide's (w0/w + h0/h) / 2. */
  downsample?: number;
  /**
   * A level painted as a tile map (Ventana BIF with overlapping tiles), not read as
   * its stored grid: see TileMap. Its size is the map's, not the directory's.
   */
  tileMap?: TileMap;
}

/**
 * OpenSlide's tile map of a BIF level: level-0 tile (c, r), for c < across and
 * r < down, is painted at (c * advanceX, r * advanceY) of this level (fractional),
 * rows from the bottom and columns from the right, with cairo's SATURATE (the first
 * painted wins where it is opaque). At a level of integer downsample d it is the
 * (c % d, r % d) subtile, tileWidth/d x tileHeight/d, of stored tile (c / d, r / d).
 */
export interface TileMap {
  across: number;
  down: number;
  /** Level pixels between neighbouring tiles (the level-0 advance / d). */
  advanceX: number;
  advanceY: number;
  /** d: level-0 tiles per stored tile side. */
  subtiles: number;
  /** The level's size: the painted bounds, rounded up. */
  width: number;
  height: number;
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
  /**
   * Associated images kept as a whole JPEG inside the metadata rather than in a
   * directory (Philips PIM_DP_IMAGE_DATA): name -> the complete JPEG stream and its size.
   */
  inlineAssociated?: Map<string, InlineImage>;
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

export interface InlineImage {
  width: number;
  height: number;
  /** A complete (interchange) JPEG stream. */
  jpeg: Uint8Array;
  /** TIFF Photometric the decoder should assume (6 = YCbCr, as libjpeg reads a JFIF). */
  photometric: number;
  components: number;
}

export type VendorReader = (tiff: TiffFile) => SlideLayout | undefined;
