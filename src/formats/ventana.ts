// Ventana BIF / TIFF, read as OpenSlide 3.4.1's ventana driver does
// (openslide-vendor-ventana.c), for the files whose tiles need no stitching:
// - IFD 0's XMP (tag 700) holds <iScan ...> (as root or under <Metadata>): every
//   non-empty attribute is ventana.<name>; Magnification (an integer) is the
//   objective power, ScanRes the MPP;
// - directories whose ImageDescription contains "level=" are levels ("level=N mag=M
//   ..."; N counting up from 0 in directory order, M falling), downsample mag0 / mag;
//   "Label Image" / "Label_Image" is the associated image `macro`, "Thumbnail" the
//   `thumbnail`;
// - level 0's own XMP, when present, is a BIF <EncodeInfo>: the scanned AOIs
//   (SlideStitchInfo/ImageInfo, AoiOrigin) and the joints between their tiles
//   (TileJointInfo, tiles numbered serpentine from the bottom row), whose
//   confidence-weighted mean overlap sets the tile advance: the tile size plus the
//   mean of -OverlapX over the RIGHT joints (x) and of -OverlapY over the UP joints
//   (y); the other component of each joint is ignored. OpenSlide then paints every
//   level as a tile map: level-0 tile (c, r) at (c, r) x advance / d, at a level of
//   downsample d as the (c % d, r % d) subtile (tile size / d) of stored tile
//   (c / d, r / d); level sizes are the painted bounds rounded up, no tile size.
// When the advance is the tile size (every joint's overlap 0) the stored tile grid is
// the level grid and is read as such. Otherwise the level is a tile map
// (LayoutLevel.tileMap, painted by src/slide/tilemap.ts as OpenSlide does) over a
// virtual grid of the stored tile size; that needs integer downsamples dividing the
// tile size. Either way only one AOI starting at the origin is read: several AOIs or
// an AOI off the origin are E_NOT_A_SLIDE.
// Without an EncodeInfo (a "Ventana TIFF") the stored grid is read as is.
import { ImageboxError } from '../errors.js';
import { bytes, imageInfo, text } from './tiff/ifd.js';
import type { Ifd, ImageInfo } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import type { LayoutLevel, SlideLayout, TileMap } from './slide-layout.js';
import { assertDecodable, inconsistency } from './supported.js';
import { formatG17, tiffProperties } from './tiff-properties.js';
import { childNamed, childrenNamed, localName, parseXml, type XmlElement } from './xml.js';

function notSlide(message: string): never {
  throw new ImageboxError('E_NOT_A_SLIDE', `Ventana: ${message}`);
}

function xmp(ifd: Ifd): string | undefined {
  const b = bytes(ifd, Tag.XMP);
  if (b) {
    const nul = b.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
  }
  return text(ifd, Tag.XMP);
}

function iscanElement(root: XmlElement): XmlElement | undefined {
  if (root.name === 'iScan') return root;
  if (root.name === 'Metadata') return root.children.find((c) => c.name === 'iScan');
  return undefined;
}

export function isVentana(tiff: TiffFile): boolean {
  const first = tiff.ifds[0];
  const x = first && xmp(first);
  return x !== undefined && x.includes('iScan');
}

function intAttr(el: XmlElement, name: string): number {
  const v = el.attributes[name];
  if (v === undefined) notSlide(`no integer attribute "${name}" on <${localName(el.name)}>`);
  if (!/^\s*[+-]?\d+$/.test(v)) notSlide(`invalid integer attribute "${name}"`);
  return Number(v);
}

function doubleAttr(el: XmlElement, name: string): number {
  const v = el.attributes[name];
  if (v === undefined) notSlide(`no floating-point attribute "${name}" on <${localName(el.name)}>`);
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) notSlide(`invalid floating-point attribute "${name}"`);
  return n;
}

/** OpenSlide's get_tile_coordinates: 1-based serpentine numbering from the bottom row. */
function tileCoordinates(n: number, across: number, down: number): [number, number] {
  if (n < 1 || n > across * down) notSlide(`tile number out of bounds: ${n}`);
  const t = n - 1;
  let col = t % across;
  let row = Math.floor(t / across);
  if (row % 2) col = across - col - 1;
  row = down - row - 1;
  return [col, row];
}

interface Bif {
  across: number;
  down: number;
  /** Level-0 pixels between neighbouring tiles (OpenSlide's tile_advance_x/y). */
  advanceX: number;
  advanceY: number;
}

/** Read a BIF level 0's EncodeInfo as OpenSlide does; throws for what we do not read (several AOIs, an AOI off the origin). */
function checkEncodeInfo(xml: string, tw: number, th: number): Bif {
  const root = parseXml(xml);
  if (root.name !== 'EncodeInfo') notSlide('level 0 XMP is not an EncodeInfo');
  const infos = childrenNamed(childNamed(root, 'SlideStitchInfo') ?? root, 'ImageInfo');
  const origins = childNamed(root, 'AoiOrigin')?.children ?? [];
  if (!childNamed(root, 'SlideStitchInfo') || !childNamed(root, 'AoiOrigin') || infos.length !== origins.length) {
    notSlide('missing or inconsistent region metadata');
  }
  const areas: { across: number; down: number; x: number; y: number; startCol: number; startRow: number }[] = [];
  let ox = 0;
  let oy = 0;
  let wx = 0;
  let wy = 0;
  infos.forEach((info, i) => {
    if (!intAttr(info, 'AOIScanned')) return;
    const aoi = origins[i]!;
    const sx = intAttr(aoi, 'OriginX');
    const sy = intAttr(aoi, 'OriginY');
    const w = intAttr(info, 'Width');
    const h = intAttr(info, 'Height');
    if (w !== tw || h !== th) notSlide(`tile size mismatch: expected ${tw}x${th}, found ${w}x${h}`);
    if (sx % w || sy % h) notSlide(`area origin not divisible by tile size: ${sx} % ${w}, ${sy} % ${h}`);
    const across = intAttr(info, 'NumCols');
    const down = intAttr(info, 'NumRows');
    if (across < 1 || down < 1) notSlide(`area of ${across}x${down} tiles`);
    areas.push({ across, down, x: Math.trunc(doubleAttr(info, 'Pos-X')), y: Math.trunc(doubleAttr(info, 'Pos-Y')), startCol: sx / w, startRow: sy / h });
    for (const j of childrenNamed(info, 'TileJointInfo')) {
      const [c1, r1] = tileCoordinates(intAttr(j, 'Tile1'), across, down);
      const [c2, r2] = tileCoordinates(intAttr(j, 'Tile2'), across, down);
      const dir = j.attributes.Direction;
      if (dir === 'RIGHT') {
        if (!(c2 === c1 + 1 && r2 === r1)) notSlide(`unexpected tile join: RIGHT, (${c1}, ${r1}), (${c2}, ${r2})`);
      } else if (dir === 'UP') {
        if (!(c2 === c1 && r2 === r1 - 1)) notSlide(`unexpected tile join: UP, (${c1}, ${r1}), (${c2}, ${r2})`);
      } else {
        notSlide(`bad direction attribute "${dir ?? ''}"`);
      }
      const offX = -doubleAttr(j, 'OverlapX');
      const offY = -doubleAttr(j, 'OverlapY');
      const confidence = intAttr(j, 'Confidence');
      if (dir === 'UP') {
        oy += confidence * offY;
        wy += confidence;
      } else {
        ox += confidence * offX;
        wx += confidence;
      }
    }
  });
  if (areas.length !== 1) notSlide(`${areas.length} scanned areas: only one is supported`);
  const a = areas[0]!;
  // Pos-Y counts from below all areas: with one area it becomes 0
  if (a.startCol !== 0 || a.startRow !== 0 || a.x !== 0) notSlide('the scanned area does not start at the origin (not supported)');
  const advanceX = tw + ox / wx;
  const advanceY = th + oy / wy;
  // no joint in a direction (one row or column of tiles) or confidences summing to 0: OpenSlide's 0/0, NaN
  if (!Number.isFinite(advanceX) || !Number.isFinite(advanceY)) notSlide(`no tile advance from the joints (${formatG17(advanceX)} x ${formatG17(advanceY)})`);
  // an advance under half a tile would stack three tiles on a pixel; over a tile leaves gaps: not what a scanner writes
  if (!(advanceX >= tw / 2 && advanceX <= tw && advanceY >= th / 2 && advanceY <= th)) {
    notSlide(`tile advance ${formatG17(advanceX)} x ${formatG17(advanceY)} for ${tw}x${th} tiles (joint overlaps of 0 up to half a tile are read)`);
  }
  return { across: a.across, down: a.down, advanceX, advanceY };
}

export function readVentana(tiff: TiffFile): SlideLayout | undefined {
  if (!isVentana(tiff)) return undefined;
  const first = tiff.ifds[0]!;
  const iscan = iscanElement(parseXml(xmp(first)!));
  if (!iscan) return undefined;
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(iscan.attributes)) if (v !== '' && !k.startsWith('xmlns')) properties[`ventana.${k}`] = v;

  const levels: (LayoutLevel & { downsample: number })[] = [];
  const associated = new Map<string, ImageInfo>();
  let mag0 = 0;
  let prevMag = Infinity;
  let bif: Bif | undefined;
  tiff.ifds.forEach((ifd, dir) => {
    const desc = text(ifd, Tag.ImageDescription);
    if (desc === undefined) return;
    const info = imageInfo(ifd);
    if (desc.includes('level=')) {
      const fields = new Map<string, string>();
      for (const pair of desc.split(' ')) {
        const eq = pair.indexOf('=');
        if (eq >= 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const ls = fields.get('level');
      const ms = fields.get('mag');
      if (ls === undefined || ms === undefined) notSlide('missing level field');
      if (!/^[+-]?\d+$/.test(ls)) notSlide('invalid level number');
      const mag = ms.trim() === '' ? NaN : Number(ms);
      if (!Number.isFinite(mag)) notSlide('invalid magnification');
      const level = Number(ls);
      if (level !== levels.length) notSlide(`unexpected encounter with level ${level}`);
      if (mag >= prevMag) notSlide(`unexpected magnification in level ${level}`);
      prevMag = mag;
      if (level === 0) mag0 = mag;
      if (!info || !info.tiled) notSlide(`directory ${dir} is not tiled`);
      if (level === 0) {
        const encode = xmp(ifd);
        if (encode !== undefined) bif = checkEncodeInfo(encode, info.tileWidth, info.tileHeight);
      }
      assertDecodable(info, `level ${level} (IFD ${dir})`);
      const l0 = levels[0]?.info ?? info;
      if (info.tileWidth !== l0.tileWidth || info.tileHeight !== l0.tileHeight) notSlide('inconsistent TIFF tile sizes');
      levels.push({ info, ifdIndex: dir, subIfdIndex: undefined, downsample: mag0 / mag });
    } else if (desc === 'Label Image' || desc === 'Label_Image' || desc === 'Thumbnail') {
      const name = desc === 'Thumbnail' ? 'thumbnail' : 'macro';
      if (!info) notSlide(`${name}: directory ${dir} has no image`);
      const bad = inconsistency(info);
      if (bad) throw new ImageboxError(bad.code, `Ventana ${name}: ${bad.message}`);
      associated.set(name, info);
    }
  });
  if (levels.length === 0) notSlide('no pyramid levels in slide');
  levels.sort((a, b) => b.info.width - a.info.width);
  const level0 = levels[0]!;

  const notes: string[] = [];
  if (bif) {
    const { across, down, advanceX, advanceY } = bif;
    const tw = level0.info.tileWidth;
    const th = level0.info.tileHeight;
    const overlapping = advanceX !== tw || advanceY !== th;
    for (const l of levels) {
      const d = l.downsample;
      // OpenSlide sizes a BIF level by the tiles it paints: ceil(the tile map's bounds)
      const width = Math.ceil((across - 1) * (advanceX / d) + tw / d);
      const height = Math.ceil((down - 1) * (advanceY / d) + th / d);
      if (overlapping) {
        // subtiles: OpenSlide cuts each stored tile into d x d of them (d its integer downsample)
        if (!Number.isInteger(d) || tw % d || th % d) notSlide(`downsample ${formatG17(d)} does not divide the ${tw}x${th} tiles into subtiles (not supported with overlapping tiles)`);
        if (Math.ceil(across / d) > Math.ceil(l.info.width / tw) || Math.ceil(down / d) > Math.ceil(l.info.height / th)) {
          notSlide(`level of ${l.info.width}x${l.info.height} cannot hold ${across}x${down} tiles at downsample ${d}`);
        }
        const tileMap: TileMap = { across, down, advanceX: advanceX / d, advanceY: advanceY / d, subtiles: d, width, height };
        l.tileMap = tileMap;
        continue;
      }
      if (width > Math.ceil(l.info.width / tw) * tw || height > Math.ceil(l.info.height / th) * th) {
        notSlide(`level of ${l.info.width}x${l.info.height} cannot hold ${across}x${down} tiles at downsample ${d}`);
      }
      l.info = { ...l.info, width, height, tilesAcross: Math.ceil(l.info.width / tw) };
    }
    notes.push(
      overlapping
        ? `BIF tiles overlap (advance ${formatG17(advanceX)} x ${formatG17(advanceY)} px): every tile is painted from the stored tiles at their fractional positions, as OpenSlide does; the tile grid is virtual (no tile is sent as stored)`
        : 'BIF levels have no tile size in OpenSlide (it paints them as a tile map); ours are the stored tile grid',
    );
    properties['openslide.region[0].x'] = '0';
    properties['openslide.region[0].y'] = '0';
    properties['openslide.region[0].width'] = String(Math.ceil(advanceX * (across - 1) + tw));
    properties['openslide.region[0].height'] = String(Math.ceil(advanceY * (down - 1) + th));
  }

  const propertyIfd = tiff.ifds[level0.ifdIndex]!;
  Object.assign(properties, tiffProperties(propertyIfd));
  const description = text(propertyIfd, Tag.ImageDescription);
  if (description !== undefined) properties['openslide.comment'] = description;
  properties['openslide.vendor'] = 'ventana';
  let objectivePower: number | undefined;
  const magnification = properties['ventana.Magnification'];
  if (magnification !== undefined && /^\s*[+-]?\d+$/.test(magnification)) {
    objectivePower = Number(magnification);
    properties['openslide.objective-power'] = String(objectivePower);
  }
  let mpp: number | undefined;
  const scanRes = properties['ventana.ScanRes'];
  if (scanRes !== undefined && scanRes.trim() !== '' && Number.isFinite(Number(scanRes))) {
    mpp = Number(scanRes);
    properties['openslide.mpp-x'] = formatG17(mpp);
    properties['openslide.mpp-y'] = formatG17(mpp);
  }
  return {
    vendor: 'ventana',
    levels,
    associated,
    properties,
    mppX: mpp,
    mppY: mpp,
    objectivePower,
    notes,
  };
}
