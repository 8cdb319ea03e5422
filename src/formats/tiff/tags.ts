// TIFF tag numbers and field types (TIFF 6.0, BigTIFF, and the private tags WSI files use).

export const Tag = {
  NewSubfileType: 254,
  SubfileType: 255,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  DocumentName: 269,
  ImageDescription: 270,
  Make: 271,
  Model: 272,
  StripOffsets: 273,
  Orientation: 274,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfig: 284,
  ResolutionUnit: 296,
  Software: 305,
  DateTime: 306,
  Artist: 315,
  HostComputer: 316,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubsampling: 530,
  ReferenceBlackWhite: 532,
  XMP: 700,
  Copyright: 33432,
  ImageDepth: 32997,
  ICCProfile: 34675,
  // Hamamatsu NDPI (private tags, as OpenSlide names them)
  NdpiFormatFlag: 65420,
  NdpiSourceLens: 65421,
  NdpiXOffset: 65422,
  NdpiYOffset: 65423,
  NdpiFocalPlane: 65424,
  NdpiMcuStarts: 65426,
  NdpiReference: 65427,
  NdpiMcuStartsHighBytes: 65432,
  NdpiPropertyMap: 65449,
} as const;

/** Tags whose values are (possibly huge) per-segment arrays: read lazily. */
export const LAZY_ARRAY_TAGS: ReadonlySet<number> = new Set([
  Tag.StripOffsets,
  Tag.StripByteCounts,
  Tag.TileOffsets,
  Tag.TileByteCounts,
  Tag.NdpiMcuStarts,
  Tag.NdpiMcuStartsHighBytes,
]);

/** Field types: id -> [name, bytes per value]. */
export const FieldType: Record<number, readonly [string, number]> = {
  1: ['BYTE', 1],
  2: ['ASCII', 1],
  3: ['SHORT', 2],
  4: ['LONG', 4],
  5: ['RATIONAL', 8],
  6: ['SBYTE', 1],
  7: ['UNDEFINED', 1],
  8: ['SSHORT', 2],
  9: ['SLONG', 4],
  10: ['SRATIONAL', 8],
  11: ['FLOAT', 4],
  12: ['DOUBLE', 8],
  13: ['IFD', 4],
  16: ['LONG8', 8],
  17: ['SLONG8', 8],
  18: ['IFD8', 8],
};

export function typeSize(type: number): number | undefined {
  return FieldType[type]?.[1];
}
