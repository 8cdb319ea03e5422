// What the instances of one DICOM WSI series make as a slide (vendor "dicom"):
// - VOLUME instances (or instances without an Image Type) are pyramid levels,
//   grouped by Total Pixel Matrix size (several instances of one size - a
//   concatenation, or a level split over files - fill one level's tile grid);
//   largest first;
// - LABEL, OVERVIEW and THUMBNAIL instances are the associated images "label",
//   "macro" and "thumbnail";
// - frames are placed on the tile grid row-major (TILED_FULL, offset by the
//   Concatenation Frame Offset Number) or by their per-frame Plane Position
//   (TILED_SPARSE, or no Dimension Organization Type but per-frame positions);
//   grid cells no frame covers are missing tiles (zero length);
// - MPP from Pixel Spacing (Shared Functional Groups > Pixel Measures, else the
//   top level): mm per pixel, row spacing first, x 1000 -> openslide.mpp-y/x;
// - properties dicom.* of the base level's instance; the ICC profile of its
//   first optical path is kept.
// Frame offsets are in the joined address space of the slide's files: file i's
// offsets plus `base` (see src/io/joined-source.ts); frames a fragment walk has
// not reached yet are found when a tile needs them (cell-array.ts). Isomorphic.
import { ImageboxError } from '../../errors.js';
import { Compression, Photometric } from '../../contracts/tile.js';
import type { ImageInfo } from '../tiff/ifd.js';
import { ResidentArray, type NumberArray } from '../tiff/lazy-array.js';
import { CellArray, type CellSource } from './cell-array.js';
import type { LayoutLevel, SlideLayout } from '../slide-layout.js';
import { assertDecodable, MAX_IMAGE_SIDE } from '../supported.js';
import { T, TransferSyntax, WSI_SOP_CLASS, bytesOf, item, num, str, strs, type DataSet, type DicomHeader } from './data-set.js';
import type { FrameTable } from './frames.js';

export interface DicomInstance {
  header: DicomHeader;
  table: FrameTable;
  /** Where this instance's file starts in the slide's joined address space. */
  base: number;
}

/** What an instance's header says about its image, before its frames are located. */
export interface InstanceImage {
  flavour: string;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  frames: number;
  /** Bytes of one native frame (0 when encapsulated). */
  frameBytes: number;
  compression: number;
  photometric: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

const ASSOCIATED: Record<string, string> = { LABEL: 'label', OVERVIEW: 'macro', THUMBNAIL: 'thumbnail' };

/** The header's image description; E_NOT_A_SLIDE for what we cannot read. */
export function instanceImage(h: DicomHeader): InstanceImage {
  const ds = h.dataSet;
  const sop = str(ds, T.SOPClassUID) ?? str(h.meta, T.MediaStorageSOPClassUID);
  if (sop !== WSI_SOP_CLASS) throw new ImageboxError('E_NOT_A_SLIDE', `DICOM instance of SOP class ${sop ?? '(none)'}, not VL Whole Slide Microscopy Image`);
  const tileWidth = num(ds, T.Columns) ?? 0;
  const tileHeight = num(ds, T.Rows) ?? 0;
  const width = num(ds, T.TotalPixelMatrixColumns) ?? tileWidth;
  const height = num(ds, T.TotalPixelMatrixRows) ?? tileHeight;
  for (const [what, v] of [['Columns', tileWidth], ['Rows', tileHeight], ['Total Pixel Matrix Columns', width], ['Total Pixel Matrix Rows', height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ImageboxError('E_MALFORMED', `DICOM ${what} ${v}`);
    if (v > MAX_IMAGE_SIDE) throw new ImageboxError('E_TOO_LARGE', `DICOM ${what} ${v} (at most ${MAX_IMAGE_SIDE})`);
  }
  const frames = num(ds, T.NumberOfFrames) ?? 1;
  const samplesPerPixel = num(ds, T.SamplesPerPixel) ?? 1;
  const bitsAllocated = num(ds, T.BitsAllocated) ?? 8;
  const pi = str(ds, T.PhotometricInterpretation) ?? '';
  const ts = h.transferSyntax;
  if ((num(ds, T.PlanarConfiguration) ?? 0) !== 0 && samplesPerPixel > 1) {
    throw new ImageboxError('E_NOT_A_SLIDE', 'DICOM colour-by-plane frames (Planar Configuration 1) are not supported');
  }
  let compression: number;
  let photometric: number;
  let frameBytes = 0;
  const grey = pi === 'MONOCHROME2' ? Photometric.MinIsBlack : pi === 'MONOCHROME1' ? Photometric.MinIsWhite : undefined;
  if (ts === TransferSyntax.ExplicitLittle || ts === TransferSyntax.ImplicitLittle) {
    compression = Compression.None;
    const p = pi === 'RGB' ? Photometric.Rgb : grey;
    if (p === undefined) throw new ImageboxError('E_NOT_A_SLIDE', `native DICOM frames in ${pi} are not supported`);
    photometric = p;
    frameBytes = tileWidth * tileHeight * samplesPerPixel * Math.ceil(bitsAllocated / 8);
  } else if (ts === TransferSyntax.JpegBaseline || ts === TransferSyntax.JpegExtended) {
    compression = Compression.Jpeg;
    // YBR_*: the decoder converts YCbCr; RGB: components stored as R, G, B (no transform)
    photometric = pi.startsWith('YBR') ? Photometric.YCbCr : pi === 'RGB' ? Photometric.Rgb : (grey ?? Photometric.MinIsBlack);
  } else if (ts === TransferSyntax.Jpeg2000Lossless || ts === TransferSyntax.Jpeg2000) {
    // YBR_ICT / YBR_RCT: the codestream's own component transform gives RGB; YBR_FULL: a YCbCr
    // codestream. YBR_FULL_422 is not allowed with JPEG 2000 (PS3.5 8.2.4); OrthancWSIDicomizer
    // writes it over RGB codestreams without a component transform, so it is read as RGB.
    compression = pi === 'YBR_FULL' ? Compression.Jp2kYCbCr : Compression.Jp2kRgb;
    photometric = grey ?? Photometric.Rgb;
  } else if (ts === TransferSyntax.JpegLsLossless || ts === TransferSyntax.JpegLsNearLossless) {
    // the codestream holds the samples the Photometric Interpretation names; YBR_FULL (allowed, rare) would need a colour transform after CharLS
    if (pi.startsWith('YBR')) throw new ImageboxError('E_NOT_A_SLIDE', `DICOM JPEG-LS frames in ${pi} are not supported (RGB and monochrome are)`);
    compression = Compression.JpegLs;
    photometric = grey ?? Photometric.Rgb;
  } else {
    throw new ImageboxError('E_NOT_A_SLIDE', `DICOM transfer syntax ${ts} is not supported`);
  }
  const type = strs(ds, T.ImageType);
  const flavour = (type?.[2] ?? 'VOLUME').toUpperCase();
  return { flavour, width, height, tileWidth, tileHeight, frames, frameBytes, compression, photometric, samplesPerPixel, bitsAllocated };
}

/** Grid index of every frame (undefined: not on this plane / outside), from positions or row-major order. */
function frameCells(ds: DataSet, img: InstanceImage, cols: number, rows: number): Array<number | undefined> {
  const out: Array<number | undefined> = new Array(img.frames);
  const perFrame = ds.get(T.PerFrameFunctionalGroupsSequence)?.items;
  const org = str(ds, T.DimensionOrganizationType);
  const positioned = org !== 'TILED_FULL' && perFrame !== undefined && perFrame.length > 0;
  if (!positioned) {
    const first = num(ds, T.ConcatenationFrameOffsetNumber) ?? 0;
    for (let i = 0; i < img.frames; i++) {
      const cell = first + i;
      // further planes (focal planes, optical paths) follow the first one: we read the first
      out[i] = cell < cols * rows ? cell : undefined;
    }
    return out;
  }
  if (perFrame.length !== img.frames) {
    throw new ImageboxError('E_MALFORMED', `${perFrame.length} Per-Frame Functional Groups items for ${img.frames} frames`);
  }
  const seen = new Set<number>();
  for (let i = 0; i < img.frames; i++) {
    const pos = item(perFrame[i], T.PlanePositionSlideSequence);
    const c = pos && num(pos, T.ColumnPositionInTotalImagePixelMatrix);
    const r = pos && num(pos, T.RowPositionInTotalImagePixelMatrix);
    if (c === undefined || r === undefined) throw new ImageboxError('E_MALFORMED', `frame ${i} has no Plane Position (Slide)`);
    const x = c - 1;
    const y = r - 1;
    if (x % img.tileWidth !== 0 || y % img.tileHeight !== 0) {
      throw new ImageboxError('E_NOT_A_SLIDE', `frame ${i} at (${c}, ${r}) is not on the ${img.tileWidth}x${img.tileHeight} tile grid`);
    }
    const col = x / img.tileWidth;
    const row = y / img.tileHeight;
    if (col < 0 || row < 0 || col >= cols || row >= rows) {
      throw new ImageboxError('E_MALFORMED', `frame ${i} at (${c}, ${r}) lies outside the ${img.width}x${img.height} pixel matrix`);
    }
    const cell = row * cols + col;
    out[i] = seen.has(cell) ? undefined : cell; // a second plane at the same place: the first is read
    seen.add(cell);
  }
  return out;
}

function imageInfoOf(parts: Array<{ instance: DicomInstance; img: InstanceImage }>): ImageInfo {
  const img = parts[0]!.img;
  const cols = Math.ceil(img.width / img.tileWidth);
  const rows = Math.ceil(img.height / img.tileHeight);
  if (cols * rows > (1 << 24)) throw new ImageboxError('E_TOO_LARGE', `${cols}x${rows} tiles (at most 2^24)`);
  const cellSource = new Int32Array(cols * rows).fill(-1);
  const cellFrame = new Int32Array(cols * rows);
  const sources: CellSource[] = [];
  for (const { instance, img: im } of parts) {
    if (im.tileWidth !== img.tileWidth || im.tileHeight !== img.tileHeight || im.compression !== img.compression) {
      throw new ImageboxError('E_NOT_A_SLIDE', `instances of one ${img.width}x${img.height} level differ in tile size or compression`);
    }
    const k = sources.push({ table: instance.table, base: instance.base }) - 1;
    const cells = frameCells(instance.header.dataSet, im, cols, rows);
    cells.forEach((cell, i) => {
      if (cell === undefined || cellSource[cell]! >= 0) return; // the first frame placed in a cell wins
      cellSource[cell] = k;
      cellFrame[cell] = i;
    });
  }
  let offsets: NumberArray;
  let byteCounts: NumberArray;
  if (sources.some((s) => s.table.walker !== undefined)) {
    offsets = new CellArray(sources, cellSource, cellFrame, 'offsets');
    byteCounts = new CellArray(sources, cellSource, cellFrame, 'lengths');
  } else {
    // every frame located at open: plain resident arrays
    const o = new Float64Array(cols * rows);
    const c = new Float64Array(cols * rows);
    for (let cell = 0; cell < o.length; cell++) {
      const k = cellSource[cell]!;
      if (k < 0) continue;
      const s = sources[k]!;
      o[cell] = s.base + s.table.offsets[cellFrame[cell]!]!;
      c[cell] = s.table.lengths[cellFrame[cell]!]!;
    }
    offsets = new ResidentArray(o);
    byteCounts = new ResidentArray(c);
  }
  return {
    width: img.width,
    height: img.height,
    tiled: true,
    tileWidth: img.tileWidth,
    tileHeight: img.tileHeight,
    compression: img.compression,
    photometric: img.photometric,
    samplesPerPixel: img.samplesPerPixel,
    bitsPerSample: img.bitsAllocated,
    predictor: 1,
    planarConfig: 1,
    sampleFormat: 1,
    subfileType: 0,
    ycbcrSubsampling: [2, 2],
    jpegTables: undefined,
    description: undefined,
    offsets,
    byteCounts,
  };
}

/** The ICC profile of the first optical path that has one. */
export function iccProfile(ds: DataSet): Uint8Array | undefined {
  for (const path of ds.get(T.OpticalPathSequence)?.items ?? []) {
    const icc = bytesOf(path, T.ICCProfile);
    if (icc && icc.length > 0) return icc;
  }
  return bytesOf(ds, T.ICCProfile);
}

/** Pixel Spacing [row, column] in mm. */
function pixelSpacing(ds: DataSet): [number, number] | undefined {
  const measures = item(item(ds, T.SharedFunctionalGroupsSequence), T.PixelMeasuresSequence);
  const from = measures?.get(T.PixelSpacing) ? measures : ds;
  const s = strs(from, T.PixelSpacing)?.map(Number);
  if (!s || s.length < 2 || !(s[0]! > 0) || !(s[1]! > 0)) return undefined;
  return [s[0]!, s[1]!];
}

export interface DicomLayout extends SlideLayout {
  iccProfile: Uint8Array | undefined;
}

export function dicomLayout(instances: DicomInstance[]): DicomLayout {
  const series = new Set(instances.map((i) => str(i.header.dataSet, T.SeriesInstanceUID) ?? ''));
  if (series.size > 1) throw new ImageboxError('E_NOT_A_SLIDE', `the DICOM instances belong to ${series.size} series (a slide is one series)`);
  const byLevel = new Map<string, Array<{ instance: DicomInstance; img: InstanceImage }>>();
  const associated = new Map<string, ImageInfo>();
  const notes: string[] = [];
  for (const instance of instances) {
    const img = instanceImage(instance.header);
    const name = ASSOCIATED[img.flavour];
    if (name) {
      if (!associated.has(name)) associated.set(name, imageInfoOf([{ instance, img }]));
      continue;
    }
    const key = `${img.width}x${img.height}`;
    let group = byLevel.get(key);
    if (!group) byLevel.set(key, (group = []));
    group.push({ instance, img });
  }
  if (byLevel.size === 0) throw new ImageboxError('E_NOT_A_SLIDE', 'no VOLUME instance among the DICOM files (only label/overview/thumbnail)');
  const groups = [...byLevel.values()].sort((a, b) => b[0]!.img.width - a[0]!.img.width);
  const levels: LayoutLevel[] = groups.map((g, i) => ({ info: imageInfoOf(g), ifdIndex: instances.indexOf(g[0]!.instance), subIfdIndex: undefined }));
  levels.forEach((l, i) => assertDecodable(l.info, `level ${i}`));
  for (const [name, info] of associated) assertDecodable(info, `associated image ${name}`);

  const base = groups[0]![0]!.instance.header;
  const ds = base.dataSet;
  const properties: Record<string, string> = { 'openslide.vendor': 'dicom' };
  const put = (key: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') properties[`dicom.${key}`] = v;
  };
  put('Manufacturer', str(ds, T.Manufacturer));
  put('ManufacturerModelName', str(ds, T.ManufacturerModelName));
  put('StudyInstanceUID', str(ds, T.StudyInstanceUID));
  put('SeriesInstanceUID', str(ds, T.SeriesInstanceUID));
  put('ImageType', str(ds, T.ImageType));
  put('DimensionOrganizationType', str(ds, T.DimensionOrganizationType));
  put('TransferSyntaxUID', base.transferSyntax);
  put('PhotometricInterpretation', str(ds, T.PhotometricInterpretation));
  const path = item(ds, T.OpticalPathSequence);
  put('OpticalPathIdentifier', path && str(path, T.OpticalPathIdentifier));
  put('OpticalPathDescription', path && str(path, T.OpticalPathDescription));
  const icc = iccProfile(ds);
  if (icc) properties['dicom.ICCProfile.bytes'] = String(icc.length);
  groups.forEach((g, i) => (properties[`dicom.level[${i}].frame-index`] = [...new Set(g.map((p) => p.instance.table.how))].join(',')));
  const spacing = pixelSpacing(ds);
  let mppX: number | undefined;
  let mppY: number | undefined;
  if (spacing) {
    const measures = item(item(ds, T.SharedFunctionalGroupsSequence), T.PixelMeasuresSequence);
    put('PixelSpacing', str(measures?.get(T.PixelSpacing) ? measures : ds, T.PixelSpacing));
    // mm -> µm; rounded to 15 digits so the decimal string's value survives the binary product
    mppY = Number((spacing[0] * 1000).toPrecision(15));
    mppX = Number((spacing[1] * 1000).toPrecision(15));
    properties['openslide.mpp-x'] = String(mppX);
    properties['openslide.mpp-y'] = String(mppY);
  }
  if (instances.some((i) => (num(i.header.dataSet, T.TotalPixelMatrixFocalPlanes) ?? 1) > 1 || (num(i.header.dataSet, T.NumberOfOpticalPaths) ?? 1) > 1)) {
    notes.push('several focal planes or optical paths: the first is read');
  }
  return { vendor: 'dicom', levels, associated, properties, mppX, mppY, objectivePower: undefined, notes, iccProfile: icc };
}
