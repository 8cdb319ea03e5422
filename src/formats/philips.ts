// Philips TIFF, read as OpenSlide 3.4.1's philips driver does
// (openslide-vendor-philips.c):
// - IFD 0's Software starts with "Philips" and its ImageDescription is XML whose root
//   is <DataObject ObjectType="DPUfsImport">, with exactly one scanned image of
//   PIM_DP_IMAGE_TYPE "WSI";
// - every tiled directory is a level (after the first, each must be reduced-resolution
//   and no larger than the one before); untiled directories whose description starts
//   with "Label" / "Macro" are the associated images `label` / `macro`;
// - level i's downsample is round of its DICOM_PIXEL_SPACING over level 0's (one
//   PixelDataRepresentation per level), and its size level0 / downsample (Philips pads
//   levels; the padding is clipped, the stored tile grid kept);
// - sparse files: a TileByteCounts of 0 is a tile no scan covered: transparent;
// - properties: philips.<Name> for every leaf <Attribute> of the root, of the first WSI
//   image, and philips.PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE[i].<Name>; tiff.* of
//   IFD 0 without ImageDescription (no openslide.comment); MPP from
//   philips.DICOM_PIXEL_SPACING ("row" "column", in mm).
// - label / macro not in a directory: the base64 JPEG of the first LABELIMAGE /
//   MACROIMAGE scanned image's PIM_DP_IMAGE_DATA (one that does not parse is left out,
//   as OpenSlide does).
import { ImageboxError } from '../errors.js';
import { imageInfo, text } from './tiff/ifd.js';
import type { ImageInfo } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import type { InlineImage, LayoutLevel, SlideLayout } from './slide-layout.js';
import { assertDecodable, inconsistency } from './supported.js';
import { formatG17, tiffProperties } from './tiff-properties.js';
import { childNamed, childrenNamed, parseXml, textContent, type XmlElement } from './xml.js';

const SCANNED_IMAGES = 'PIM_DP_SCANNED_IMAGES';
const DATA_REPRESENTATION = 'PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE';

export function isPhilips(tiff: TiffFile): boolean {
  const first = tiff.ifds[0];
  if (!first) return false;
  const software = text(first, Tag.Software);
  const description = text(first, Tag.ImageDescription);
  if (!software?.startsWith('Philips') || !description) return false;
  // the cheap test first; the XML is parsed by readPhilips
  return /<DataObject\b[^>]*\bObjectType\s*=\s*["']DPUfsImport["']/.test(description.slice(0, 4096));
}

function attrs(el: XmlElement): XmlElement[] {
  return childrenNamed(el, 'Attribute');
}

/** XPath `DataObject[Attribute/@Name='PIM_DP_IMAGE_TYPE' and Attribute/text()='WSI']` on the scanned images' Array. */
function scannedImages(node: XmlElement, type: string): XmlElement[] {
  const array = childNamed(node, 'Array');
  if (!array) return [];
  return childrenNamed(array, 'DataObject').filter(
    (d) => attrs(d).some((a) => a.attributes.Name === 'PIM_DP_IMAGE_TYPE') && attrs(d).some((a) => a.text === type),
  );
}

function addProperties(props: Record<string, string>, prefix: string, nodes: XmlElement[]): void {
  for (const node of nodes) {
    const name = node.attributes.Name;
    if (name === undefined) continue;
    if (name === SCANNED_IMAGES) {
      const wsi = scannedImages(node, 'WSI')[0];
      if (wsi) addProperties(props, prefix, attrs(wsi));
    } else if (name === DATA_REPRESENTATION) {
      const array = childNamed(node, 'Array');
      (array ? childrenNamed(array, 'DataObject') : []).forEach((d, i) => addProperties(props, `${prefix}.${name}[${i}]`, attrs(d)));
    } else if (node.children.length === 0) {
      props[`${prefix}.${name}`] = textContent(node);
    }
  }
}

/** A DICOM_PIXEL_SPACING value ("row" "column", mm) as [column, row] spacing (OpenSlide's parse). */
function pixelSpacing(s: string): [number, number] | undefined {
  const parts = s.split(' ').map((x) => x.replace(/"/g, ' ').trim());
  if (parts.length !== 2 || parts.some((x) => x === '')) return undefined;
  const h = Number(parts[0]);
  const w = Number(parts[1]);
  return Number.isFinite(w) && Number.isFinite(h) ? [w, h] : undefined;
}

/** Size, components and colour of a complete JPEG stream (its first SOF), or undefined. */
export function jpegImage(jpeg: Uint8Array): InlineImage | undefined {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let adobeTransform: number | undefined;
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) return undefined;
    const m = jpeg[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    const len = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (len < 2 || i + 2 + len > jpeg.length) return undefined;
    if (m === 0xee && len >= 12 && String.fromCharCode(...jpeg.subarray(i + 4, i + 9)) === 'Adobe') adobeTransform = jpeg[i + 15];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (len < 8) return undefined;
      const height = (jpeg[i + 5]! << 8) | jpeg[i + 6]!;
      const width = (jpeg[i + 7]! << 8) | jpeg[i + 8]!;
      const components = jpeg[i + 9]!;
      if (!width || !height || (components !== 1 && components !== 3)) return undefined;
      const photometric = components === 1 ? 1 : adobeTransform === 0 ? 2 : 6;
      return { width, height, jpeg, photometric, components };
    }
    if (m === 0xda || m === 0xd9) return undefined;
    i += 2 + len;
  }
  return undefined;
}

function base64Bytes(s: string): Uint8Array | undefined {
  try {
    const bin = atob(s.replace(/\s+/g, ''));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

export function readPhilips(tiff: TiffFile): SlideLayout | undefined {
  if (!isPhilips(tiff)) return undefined;
  const first = tiff.ifds[0]!;
  const root = parseXml(text(first, Tag.ImageDescription)!);
  if (root.name !== 'DataObject' || root.attributes.ObjectType !== 'DPUfsImport') return undefined;
  const scanned = attrs(root).filter((a) => a.attributes.Name === SCANNED_IMAGES);
  const wsiImages = scanned.flatMap((s) => scannedImages(s, 'WSI'));
  if (wsiImages.length !== 1) throw new ImageboxError('E_NOT_A_SLIDE', `Philips: expected one WSI image, found ${wsiImages.length}`);
  const wsi = wsiImages[0]!;

  const stored: LayoutLevel[] = [];
  const associated = new Map<string, ImageInfo>();
  tiff.ifds.forEach((ifd, i) => {
    const info = imageInfo(ifd);
    if (!info) return;
    if (info.tiled) {
      const prev = stored[stored.length - 1];
      if (prev && !(info.subfileType & 1)) throw new ImageboxError('E_NOT_A_SLIDE', `Philips: directory ${i} is not reduced-resolution`);
      if (prev && (info.width > prev.info.width || info.height > prev.info.height)) {
        throw new ImageboxError('E_NOT_A_SLIDE', `Philips: unexpected dimensions for directory ${i}`);
      }
      stored.push({ info, ifdIndex: i, subIfdIndex: undefined });
    } else {
      const name = info.description?.startsWith('Label') ? 'label' : info.description?.startsWith('Macro') ? 'macro' : undefined;
      if (name && !associated.has(name) && !inconsistency(info)) associated.set(name, info);
    }
  });
  if (stored.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', 'Philips: no tiled directory');

  // level downsamples from the pixel spacings (one PixelDataRepresentation per level)
  const seq = attrs(wsi).find((a) => a.attributes.Name === DATA_REPRESENTATION);
  const reps = seq ? childrenNamed(childNamed(seq, 'Array') ?? seq, 'DataObject').filter((d) => d.attributes.ObjectType === 'PixelDataRepresentation') : [];
  const spacings = reps.flatMap((d) => attrs(d).filter((a) => a.attributes.Name === 'DICOM_PIXEL_SPACING').map((a) => a.text));
  if (spacings.length !== stored.length) {
    throw new ImageboxError('E_NOT_A_SLIDE', `Philips: ${spacings.length} pixel spacings for ${stored.length} levels (couldn't get level downsamples)`);
  }
  const base = stored[0]!.info;
  const s0 = pixelSpacing(spacings[0]!);
  if (!s0) throw new ImageboxError('E_NOT_A_SLIDE', 'Philips: level 0: couldn\'t parse pixel spacing');
  const levels: LayoutLevel[] = stored.map((l, i) => {
    if (i === 0) return l;
    const s = pixelSpacing(spacings[i]!);
    if (!s) throw new ImageboxError('E_NOT_A_SLIDE', `Philips: level ${i}: couldn't parse pixel spacing`);
    const downsample = Math.round((s[0] / s0[0] + s[1] / s0[1]) / 2);
    if (!(downsample >= 1)) throw new ImageboxError('E_NOT_A_SLIDE', `Philips: level ${i}: downsample ${downsample}`);
    const width = Math.trunc(base.width / downsample);
    const height = Math.trunc(base.height / downsample);
    if (width > l.info.width || height > l.info.height || width < 1 || height < 1) {
      throw new ImageboxError('E_NOT_A_SLIDE', `Philips: level ${i} is ${l.info.width}x${l.info.height}, smaller than level 0 / ${downsample}`);
    }
    const info: ImageInfo = { ...l.info, width, height, tilesAcross: Math.ceil(l.info.width / l.info.tileWidth) };
    return { ...l, info, downsample };
  });
  levels.forEach((l, i) => assertDecodable(l.info, `level ${i} (IFD ${l.ifdIndex})`));

  const properties: Record<string, string> = { ...tiffProperties(first) };
  delete properties['tiff.ImageDescription'];
  addProperties(properties, 'philips', attrs(root));
  properties['openslide.vendor'] = 'philips';
  let mppX: number | undefined;
  let mppY: number | undefined;
  const spacing = properties['philips.DICOM_PIXEL_SPACING'];
  const sp = spacing === undefined ? undefined : pixelSpacing(spacing);
  if (sp) {
    mppX = 1e3 * sp[0];
    mppY = 1e3 * sp[1];
    properties['openslide.mpp-x'] = formatG17(mppX);
    properties['openslide.mpp-y'] = formatG17(mppY);
  }
  // label / macro kept in the XML, for those no directory gave
  const inlineAssociated = new Map<string, InlineImage>();
  for (const [name, type] of [['label', 'LABELIMAGE'], ['macro', 'MACROIMAGE']] as const) {
    if (associated.has(name)) continue;
    const image = scanned.flatMap((s) => scannedImages(s, type))[0];
    const data = image && attrs(image).find((a) => a.attributes.Name === 'PIM_DP_IMAGE_DATA');
    const jpeg = data && base64Bytes(data.text);
    const parsed = jpeg && jpegImage(jpeg);
    if (parsed) inlineAssociated.set(name, parsed);
  }
  return {
    vendor: 'philips',
    levels,
    associated,
    inlineAssociated,
    properties,
    mppX,
    mppY,
    objectivePower: undefined,
    notes: [],
  };
}
