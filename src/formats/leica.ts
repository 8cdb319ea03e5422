// Leica SCN, read as OpenSlide 3.4.1's leica driver does (openslide-vendor-leica.c):
// - IFD 0 is tiled and its ImageDescription is XML whose default namespace is
//   http://www.leica-microsystems.com/scn/2010/03/10 or .../2010/10/01:
//   <scn><collection sizeX sizeY (nm)><barcode>(base64)</barcode><image>... where each
//   <image> has a <view sizeX sizeY offsetX offsetY> (nm) and <pixels><dimension
//   sizeX sizeY ifd [z]>s (z-plane 0 only);
// - the macro is the image whose view is the whole collection (offset 0,0); every
//   other brightfield image is a main image; the levels are the main image's
//   dimensions, largest first, each spanning the whole collection:
//   level size = ceil(collection nm / (view nm / dimension px)), the image placed at
//   view offset / nm-per-pixel, the rest of the plane transparent;
// - properties: leica.barcode/aperture/creation-date/device-model/device-version/
//   illumination-source/objective of the first main image, objective-power from
//   leica.objective (an integer), tiff.* of the main image's level-0 directory without
//   ImageDescription, MPP = 10000 / X/YResolution when the unit is centimetre,
//   openslide.region[0].* and openslide.bounds-* (level-0 px).
// What we do not read (E_NOT_A_SLIDE, OpenSlide reads them): several main images
// composited into one plane, and a main image whose offset is not on the tile grid
// of every level (our levels are tile grids: an area must start on a tile border).
import { ImageboxError } from '../errors.js';
import { imageInfo, num, text } from './tiff/ifd.js';
import type { ImageInfo } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import type { LayoutLevel, SlideLayout } from './slide-layout.js';
import { assertDecodable, inconsistency } from './supported.js';
import { formatG17, tiffProperties } from './tiff-properties.js';
import { childNamed, childrenNamed, localName, parseXml, textContent, type XmlElement } from './xml.js';

const NAMESPACES = ['http://www.leica-microsystems.com/scn/2010/03/10', 'http://www.leica-microsystems.com/scn/2010/10/01'];

interface Dimension {
  dir: number;
  width: number;
  height: number;
  nmPerPixel: number;
}

interface LeicaImage {
  creationDate: string | undefined;
  deviceModel: string | undefined;
  deviceVersion: string | undefined;
  illumination: string | undefined;
  objective: string | undefined;
  aperture: string | undefined;
  isMacro: boolean;
  nmAcross: number;
  nmDown: number;
  nmOffsetX: number;
  nmOffsetY: number;
  dimensions: Dimension[];
}

function notSlide(message: string): never {
  throw new ImageboxError('E_NOT_A_SLIDE', `Leica: ${message}`);
}

/** g_ascii_strtoll over the whole attribute, as OpenSlide's _openslide_xml_parse_int_attr. */
function intAttr(el: XmlElement, name: string): number {
  const v = el.attributes[name];
  if (v === undefined) notSlide(`no integer attribute "${name}" on <${localName(el.name)}>`);
  if (!/^\s*[+-]?\d+$/.test(v)) notSlide(`invalid integer attribute "${name}" on <${localName(el.name)}>`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) notSlide(`integer attribute "${name}" out of range`);
  return n;
}

function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const n of names) cur = cur && childNamed(cur, n);
  return cur;
}

function pathText(el: XmlElement, ...names: string[]): string | undefined {
  const e = path(el, ...names);
  return e === undefined ? undefined : textContent(e);
}

function decodeBase64(s: string): string | undefined {
  try {
    const bin = atob(s.replace(/\s+/g, ''));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const nul = bytes.indexOf(0); // OpenSlide keeps it as a C string
    return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  } catch {
    return undefined;
  }
}

export function isLeica(tiff: TiffFile): boolean {
  const first = tiff.ifds[0];
  if (!first || !first.arrays.has(Tag.TileOffsets)) return false;
  const d = text(first, Tag.ImageDescription);
  return d !== undefined && NAMESPACES.some((ns) => d.includes(ns));
}

export function readLeica(tiff: TiffFile): SlideLayout | undefined {
  if (!isLeica(tiff)) return undefined;
  const root = parseXml(text(tiff.ifds[0]!, Tag.ImageDescription)!);
  const ns = root.attributes.xmlns;
  if (localName(root.name) !== 'scn' || ns === undefined || !NAMESPACES.includes(ns)) return undefined;
  const collection = childNamed(root, 'collection') ?? notSlide("can't find collection element");
  const barcodeEl = childNamed(collection, 'barcode');
  const barcode = barcodeEl ? decodeBase64(textContent(barcodeEl)) : collection.attributes.barcode;
  const collAcross = intAttr(collection, 'sizeX');
  const collDown = intAttr(collection, 'sizeY');
  const images: LeicaImage[] = childrenNamed(collection, 'image').map((el) => {
    const view = childNamed(el, 'view') ?? notSlide("can't find view node");
    const img: LeicaImage = {
      creationDate: pathText(el, 'creationDate'),
      deviceModel: childNamed(el, 'device')?.attributes.model,
      deviceVersion: childNamed(el, 'device')?.attributes.version,
      illumination: pathText(el, 'scanSettings', 'illuminationSettings', 'illuminationSource'),
      objective: pathText(el, 'scanSettings', 'objectiveSettings', 'objective'),
      aperture: pathText(el, 'scanSettings', 'illuminationSettings', 'numericalAperture'),
      nmAcross: intAttr(view, 'sizeX'),
      nmDown: intAttr(view, 'sizeY'),
      nmOffsetX: intAttr(view, 'offsetX'),
      nmOffsetY: intAttr(view, 'offsetY'),
      isMacro: false,
      dimensions: [],
    };
    img.isMacro = img.nmOffsetX === 0 && img.nmOffsetY === 0 && img.nmAcross === collAcross && img.nmDown === collDown;
    const pixels = childNamed(el, 'pixels');
    for (const d of pixels ? childrenNamed(pixels, 'dimension') : []) {
      const z = d.attributes.z;
      if (z !== undefined && z !== '0') continue;
      const width = intAttr(d, 'sizeX');
      img.dimensions.push({ dir: intAttr(d, 'ifd'), width, height: intAttr(d, 'sizeY'), nmPerPixel: img.nmAcross / width });
    }
    img.dimensions.sort((a, b) => b.width - a.width);
    return img;
  });
  if (images.length === 0) notSlide("can't find any images");

  const brightfield = (i: LeicaImage) => i.illumination === 'brightfield';
  const mains = images.filter((i) => !i.isMacro && brightfield(i));
  const macros = images.filter((i) => i.isMacro && brightfield(i));
  const main = mains[0] ?? notSlide("can't find main image");
  if (mains.length > 1) notSlide(`${mains.length} main images (OpenSlide composites them into one plane; we read one)`);
  if (macros.length > 1) notSlide('found multiple macro images');
  const legacyQuickhash = images.every((i) => i.isMacro || brightfield(i)) && mains.length === 1 && images.filter((i) => i.isMacro).length <= 1;
  if (!legacyQuickhash && macros.length === 0) notSlide("couldn't locate TIFF directory for quickhash");
  if (main.dimensions.length === 0) notSlide('main image without dimensions');

  const ifdOf = (dir: number, what: string) => {
    const ifd = tiff.ifds[dir];
    const info = ifd && imageInfo(ifd);
    if (!ifd || !info) notSlide(`${what}: no image directory ${dir}`);
    return { ifd, info };
  };
  const levels: LayoutLevel[] = main.dimensions.map((d, i) => {
    const { info } = ifdOf(d.dir, `level ${i}`);
    if (!info.tiled) notSlide(`level ${i}: directory ${d.dir} is not tiled`);
    assertDecodable(info, `level ${i} (IFD ${d.dir})`);
    const width = Math.ceil(collAcross / d.nmPerPixel);
    const height = Math.ceil(collDown / d.nmPerPixel);
    const ox = Math.trunc(main.nmOffsetX / d.nmPerPixel);
    const oy = Math.trunc(main.nmOffsetY / d.nmPerPixel);
    if (ox % info.tileWidth !== 0 || oy % info.tileHeight !== 0) {
      notSlide(`level ${i}: the main image lies at (${ox}, ${oy}), not on the ${info.tileWidth}x${info.tileHeight} tile grid (not supported)`);
    }
    if (ox < 0 || oy < 0) notSlide(`level ${i}: main image at a negative offset (${ox}, ${oy})`);
    const placed: ImageInfo = {
      ...info,
      width,
      height,
      area: {
        col: ox / info.tileWidth,
        row: oy / info.tileHeight,
        cols: Math.ceil(info.width / info.tileWidth),
        rows: Math.ceil(info.height / info.tileHeight),
        width: info.width,
        height: info.height,
      },
    };
    return { info: placed, ifdIndex: d.dir, subIfdIndex: undefined };
  });

  const associated = new Map<string, ImageInfo>();
  const macro = macros[0];
  if (macro?.dimensions[0]) {
    const { info } = ifdOf(macro.dimensions[0].dir, 'macro');
    const bad = inconsistency(info);
    if (bad) throw new ImageboxError(bad.code, `Leica macro: ${bad.message}`);
    associated.set('macro', info);
  }

  const propertyIfd = tiff.ifds[main.dimensions[0]!.dir]!;
  const properties: Record<string, string> = { ...tiffProperties(propertyIfd) };
  delete properties['tiff.ImageDescription'];
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) properties[k] = v;
  };
  set('leica.barcode', barcode);
  set('leica.aperture', main.aperture);
  set('leica.creation-date', main.creationDate);
  set('leica.device-model', main.deviceModel);
  set('leica.device-version', main.deviceVersion);
  set('leica.illumination-source', main.illumination);
  set('leica.objective', main.objective);
  let objectivePower: number | undefined;
  if (main.objective && /^\s*[+-]?\d+$/.test(main.objective)) {
    objectivePower = Number(main.objective);
    properties['openslide.objective-power'] = String(objectivePower);
  }
  properties['openslide.vendor'] = 'leica';
  const unit = num(propertyIfd, Tag.ResolutionUnit) ?? 2;
  const mpp = (tag: number) => {
    const r = num(propertyIfd, tag);
    return unit === 3 && r !== undefined ? 10000 / Math.fround(r) : undefined;
  };
  const mppX = mpp(Tag.XResolution);
  const mppY = mpp(Tag.YResolution);
  if (mppX !== undefined) properties['openslide.mpp-x'] = formatG17(mppX);
  if (mppY !== undefined) properties['openslide.mpp-y'] = formatG17(mppY);
  const l0 = levels[0]!.info.area!;
  const x0 = l0.col * levels[0]!.info.tileWidth;
  const y0 = l0.row * levels[0]!.info.tileHeight;
  properties['openslide.region[0].x'] = String(x0);
  properties['openslide.region[0].y'] = String(y0);
  properties['openslide.region[0].width'] = String(l0.width);
  properties['openslide.region[0].height'] = String(l0.height);
  properties['openslide.bounds-x'] = String(x0);
  properties['openslide.bounds-y'] = String(y0);
  properties['openslide.bounds-width'] = String(l0.width);
  properties['openslide.bounds-height'] = String(l0.height);
  return {
    vendor: 'leica',
    levels,
    associated,
    properties,
    mppX,
    mppY,
    objectivePower,
    notes: ['levels have no tile size in OpenSlide (its Leica levels are composited areas); ours are the main image\'s tile grid'],
  };
}
