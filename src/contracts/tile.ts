// The stored-tile contract shared by every room: what the container readers
// (src/formats) find, the slide model (src/slide) hands out, and the codecs
// (src/codecs) decode. Ground floor: imports nothing.

/** TIFF Compression tag values we know by name. */
export const Compression = {
  None: 1,
  CcittRle: 2,
  Lzw: 5,
  OldJpeg: 6,
  Jpeg: 7,
  AdobeDeflate: 8,
  Deflate: 32946,
  PackBits: 32773,
  Jp2kYCbCr: 33003, // Aperio JPEG 2000, YCbCr codestream (no MCT)
  Jp2kRgb: 33005, // Aperio JPEG 2000, RGB codestream (MCT inside)
  Webp: 50001,
  Jxl: 50002,
  /** JPEG-LS (DICOM frames): no TIFF code exists; above the 16-bit range, so no TIFF tag can claim it. */
  JpegLs: 0x1_0080,
} as const;

/** TIFF Photometric tag values. */
export const Photometric = {
  MinIsWhite: 0,
  MinIsBlack: 1,
  Rgb: 2,
  Palette: 3,
  Separated: 5,
  YCbCr: 6,
} as const;

/** One tile (or strip) exactly as stored, plus what a codec needs to decode it. */
export interface EncodedTile {
  level: number;
  col: number;
  row: number;
  /** The stored bytes; empty when the tile is missing (zero byte count). */
  bytes: Uint8Array;
  missing: boolean;
  /**
   * No stored tile is this tile: it is composed from several (a BIF level whose
   * stored tiles overlap), so it must be rendered as a region, never sent as bytes.
   * Set only with missing (no bytes).
   */
  render?: boolean;
  /** TIFF Compression tag. */
  compression: number;
  /** JPEGTables (SOI ... EOI) for abbreviated JPEG streams, if any. */
  jpegTables: Uint8Array | undefined;
  photometric: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  /** TIFF Predictor: 1 none, 2 horizontal, 3 floating point. */
  predictor: number;
  /** 1 chunky (RGBRGB), 2 planar. */
  planarConfig: number;
  /** YCbCrSubsampling as stored (may be stale, see Aperio). */
  ycbcrSubsampling: [number, number];
  /** False for a strip (its stored rows may stop at the image's last row). */
  tiled: boolean;
  /** Size of the stored tile (full tile, also at the right/bottom edge). */
  width: number;
  height: number;
  /** The part of the tile inside the image (edge tiles are cropped to this). */
  validWidth: number;
  validHeight: number;
  /** The file's byte order, where 16-bit samples are read exactly (channel tiles); little-endian when absent. */
  littleEndian?: boolean;
}
