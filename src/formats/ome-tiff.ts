// OME-TIFF: the first image's full resolution in IFD 0 and its pyramid in IFD 0's
// SubIFDs (the OME 6 pyramid layout, as written by vips, bfconvert, QuPath).
// OpenSlide 3.4.1 reads such a file as generic-tiff and sees one level: we read
// the SubIFDs too. MPP comes from Pixels/@PhysicalSizeX/Y (+ unit, default µm).
import { imageInfo, text } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import type { LayoutLevel, SlideLayout } from './slide-layout.js';
import { assertDecodable } from './supported.js';
import { formatG17, tiffProperties } from './tiff-properties.js';

const TO_MICRONS: Record<string, number> = { 'µm': 1, 'um': 1, 'nm': 1e-3, 'mm': 1e3, 'cm': 1e4, 'm': 1e6, 'pm': 1e-6 };

export function isOmeTiff(tiff: TiffFile): boolean {
  const d = tiff.ifds[0] && text(tiff.ifds[0], Tag.ImageDescription);
  return d !== undefined && /<OME[\s>]/.test(d);
}

/** Attribute of the first <Pixels> element (no XML parser needed for these few attributes). */
function pixelsAttribute(xml: string, name: string): string | undefined {
  const pixels = /<(?:\w+:)?Pixels\b[^>]*>/.exec(xml)?.[0];
  if (!pixels) return undefined;
  return new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(pixels)?.[1];
}

export function omeMpp(xml: string, axis: 'X' | 'Y'): number | undefined {
  const v = Number(pixelsAttribute(xml, `PhysicalSize${axis}`));
  if (!Number.isFinite(v) || v <= 0) return undefined;
  const unit = pixelsAttribute(xml, `PhysicalSize${axis}Unit`) ?? 'µm';
  const f = TO_MICRONS[unit];
  return f === undefined ? undefined : v * f;
}

export function readOmeTiff(tiff: TiffFile): SlideLayout | undefined {
  if (!isOmeTiff(tiff)) return undefined;
  const first = tiff.ifds[0]!;
  const base = imageInfo(first);
  if (!base) return undefined;
  const xml = text(first, Tag.ImageDescription)!;
  const levels: LayoutLevel[] = [{ info: base, ifdIndex: 0, subIfdIndex: undefined }];
  first.subIfds.forEach((sub, k) => {
    const info = sub && imageInfo(sub);
    if (info && info.width < base.width) levels.push({ info, ifdIndex: 0, subIfdIndex: k });
  });
  levels.sort((a, b) => b.info.width - a.info.width);
  levels.forEach((l, i) => assertDecodable(l.info, `level ${i}`));
  const mppX = omeMpp(xml, 'X');
  const mppY = omeMpp(xml, 'Y');
  const properties: Record<string, string> = {
    ...tiffProperties(first),
    'openslide.vendor': 'ome-tiff',
    'openslide.comment': xml,
  };
  if (mppX !== undefined) properties['openslide.mpp-x'] = formatG17(mppX);
  if (mppY !== undefined) properties['openslide.mpp-y'] = formatG17(mppY);
  return {
    vendor: 'ome-tiff',
    levels,
    associated: new Map(),
    properties,
    mppX,
    mppY,
    objectivePower: undefined,
    notes: levels.length > 1 ? ['OpenSlide 3.4.1 ignores SubIFDs and reports one level; the pyramid is in the SubIFDs'] : [],
  };
}
