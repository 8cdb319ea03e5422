// Generic pyramidal TIFF, as OpenSlide's generic-tiff driver reads it: every tiled
// directory of the main chain is a level, largest first. Beyond OpenSlide 3.4.1:
// a pyramid kept in IFD 0's SubIFDs is read, big-endian files are read, and an
// untiled (stripped) image is a one-level slide whose "tiles" are its strips.
import { imageInfo, text } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import type { LayoutLevel, SlideLayout } from './slide-layout.js';
import { assertDecodable } from './supported.js';
import { tiffProperties } from './tiff-properties.js';

export function readGenericTiff(tiff: TiffFile): SlideLayout | undefined {
  const first = tiff.ifds[0];
  const base = first && imageInfo(first);
  if (!first || !base) return undefined;
  const notes: string[] = [];
  let levels: LayoutLevel[] = [];
  if (base.tiled) {
    tiff.ifds.forEach((ifd, i) => {
      const info = imageInfo(ifd);
      if (info?.tiled) levels.push({ info, ifdIndex: i, subIfdIndex: undefined });
    });
    const subs: LayoutLevel[] = [];
    first.subIfds.forEach((sub, k) => {
      const info = sub && imageInfo(sub);
      if (info?.tiled && info.width < base.width) subs.push({ info, ifdIndex: 0, subIfdIndex: k });
    });
    if (levels.length === 1 && subs.length > 0) {
      levels = levels.concat(subs);
      notes.push('pyramid read from SubIFDs (OpenSlide 3.4.1 ignores them)');
    }
  } else {
    levels = [{ info: base, ifdIndex: 0, subIfdIndex: undefined }];
    notes.push('stripped image read as one level of strips (OpenSlide needs tiles)');
  }
  if (!tiff.littleEndian) notes.push('big-endian TIFF (OpenSlide 3.4.1 cannot open it)');
  levels.sort((a, b) => b.info.width - a.info.width);
  levels.forEach((l, i) => assertDecodable(l.info, `level ${i}`));
  const properties: Record<string, string> = { ...tiffProperties(first), 'openslide.vendor': 'generic-tiff' };
  const description = text(first, Tag.ImageDescription);
  if (description !== undefined) properties['openslide.comment'] = description;
  return {
    vendor: 'generic-tiff',
    levels,
    associated: new Map(),
    properties,
    mppX: undefined,
    mppY: undefined,
    objectivePower: undefined,
    notes,
  };
}
