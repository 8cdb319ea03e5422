// One Image File Directory: its entries, decoded eager values and lazy arrays.
import type { NumberArray } from './lazy-array.js';
import type { RestartJpeg } from '../ndpi.js';
import type { TagValue } from './tag-values.js';
import { Tag } from './tags.js';

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Absolute file offset of the value bytes (inside the entry when inline). */
  valueOffset: number;
  byteLength: number;
}

export interface Ifd {
  /** Position in the main chain (0-based), or the parent's index for a SubIFD. */
  index: number;
  /** For SubIFDs, the position among the parent's SubIFDs; undefined in the main chain. */
  subIndex: number | undefined;
  offset: number;
  entries: Map<number, IfdEntry>;
  values: Map<number, TagValue>;
  arrays: Map<number, NumberArray>;
  subIfds: Ifd[];
}

export function num(ifd: Ifd, tag: number, fallback?: number): number | undefined {
  const v = ifd.values.get(tag);
  if (Array.isArray(v)) return v[0];
  if (v instanceof Uint8Array) return v[0];
  return fallback;
}

export function nums(ifd: Ifd, tag: number): number[] | undefined {
  const v = ifd.values.get(tag);
  if (Array.isArray(v)) return v;
  if (v instanceof Uint8Array) return Array.from(v);
  return undefined;
}

export function text(ifd: Ifd, tag: number): string | undefined {
  const v = ifd.values.get(tag);
  return typeof v === 'string' ? v : undefined;
}

export function bytes(ifd: Ifd, tag: number): Uint8Array | undefined {
  const v = ifd.values.get(tag);
  return v instanceof Uint8Array ? v : undefined;
}

/** What an image directory is, in the terms readers need. */
export interface ImageInfo {
  width: number;
  height: number;
  tiled: boolean;
  /** Tile size, or (width x RowsPerStrip) for strips. */
  tileWidth: number;
  tileHeight: number;
  compression: number;
  photometric: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  predictor: number;
  planarConfig: number;
  /** TIFF SampleFormat: 1 unsigned integer (the default), 2 signed, 3 floating point. */
  sampleFormat: number;
  subfileType: number;
  ycbcrSubsampling: [number, number];
  jpegTables: Uint8Array | undefined;
  description: string | undefined;
  offsets: NumberArray;
  byteCounts: NumberArray;
  /** NDPI: tiles are restart intervals of one JPEG, put together by the slide (src/formats/ndpi.ts). */
  restart?: RestartJpeg | undefined;
  /**
   * Tiles per row of the stored grid, when a vendor reader clipped width/height below
   * what the directory says (Philips levels padded beyond level0 / downsample); else
   * ceil(width / tileWidth).
   */
  tilesAcross?: number;
  /**
   * When the stored image is one area inside a larger level plane (Leica SCN: the
   * main image inside the collection): the area's first tile column/row on the
   * level's tile grid, its stored grid and its stored size. Level tiles outside it
   * are missing (transparent); width/height are then the plane's.
   */
  area?: { col: number; row: number; cols: number; rows: number; width: number; height: number };
}

export function imageInfo(ifd: Ifd): ImageInfo | undefined {
  const width = num(ifd, Tag.ImageWidth);
  const height = num(ifd, Tag.ImageLength);
  if (!width || !height) return undefined;
  const tiled = ifd.arrays.has(Tag.TileOffsets);
  const offsets = ifd.arrays.get(tiled ? Tag.TileOffsets : Tag.StripOffsets);
  const byteCounts = ifd.arrays.get(tiled ? Tag.TileByteCounts : Tag.StripByteCounts);
  if (!offsets || !byteCounts) return undefined;
  const rowsPerStrip = Math.min(num(ifd, Tag.RowsPerStrip) ?? height, height);
  const sub = nums(ifd, Tag.YCbCrSubsampling);
  return {
    width,
    height,
    tiled,
    tileWidth: tiled ? (num(ifd, Tag.TileWidth) ?? 0) : width,
    tileHeight: tiled ? (num(ifd, Tag.TileLength) ?? 0) : rowsPerStrip,
    compression: num(ifd, Tag.Compression) ?? 1,
    photometric: num(ifd, Tag.Photometric) ?? 2,
    samplesPerPixel: num(ifd, Tag.SamplesPerPixel) ?? 1,
    bitsPerSample: num(ifd, Tag.BitsPerSample) ?? 1,
    predictor: num(ifd, Tag.Predictor) ?? 1,
    planarConfig: num(ifd, Tag.PlanarConfig) ?? 1,
    sampleFormat: num(ifd, Tag.SampleFormat) ?? 1,
    subfileType: num(ifd, Tag.NewSubfileType) ?? 0,
    ycbcrSubsampling: [sub?.[0] ?? 2, sub?.[1] ?? 2],
    jpegTables: bytes(ifd, Tag.JPEGTables),
    description: text(ifd, Tag.ImageDescription),
    offsets,
    byteCounts,
  };
}
