// Aperio SVS, read as OpenSlide's aperio driver does:
// - the first directory's ImageDescription starts with "Aperio";
// - every tiled directory is a pyramid level (NewSubfileType 0, not "reduced");
// - the untiled directory at index 1 is the thumbnail; other untiled ones are
//   named by the first word of their description's second line ("label", "macro");
// - properties: every "key = value" of the '|'-separated description as aperio.key;
//   MPP -> openslide.mpp-x/y, AppMag -> openslide.objective-power.
import { imageInfo, text } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import type { LayoutLevel, SlideLayout } from './slide-layout.js';
import { assertDecodable, inconsistency } from './supported.js';
import { formatG17, tiffProperties } from './tiff-properties.js';
import type { ImageInfo } from './tiff/ifd.js';

export function isAperio(tiff: TiffFile): boolean {
  const d = tiff.ifds[0] && text(tiff.ifds[0], Tag.ImageDescription);
  return d !== undefined && d.startsWith('Aperio');
}

/** The '|'-separated key = value pairs after the header line(s). */
export function aperioProperties(description: string): Record<string, string> {
  const p: Record<string, string> = {};
  const parts = description.split('|');
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    if (key) p[`aperio.${key}`] = part.slice(eq + 1).trim();
  }
  return p;
}

function associatedName(description: string | undefined): string | undefined {
  if (!description) return undefined;
  const lines = description.split(/\r\n|\r|\n/);
  const second = lines[1];
  if (!second) return undefined;
  const word = second.split(' ')[0];
  return word || undefined;
}

export function readAperio(tiff: TiffFile): SlideLayout | undefined {
  if (!isAperio(tiff)) return undefined;
  const first = tiff.ifds[0]!;
  const description = text(first, Tag.ImageDescription)!;
  const levels: LayoutLevel[] = [];
  const associated = new Map<string, ImageInfo>();
  tiff.ifds.forEach((ifd, i) => {
    const info = imageInfo(ifd);
    if (!info) return;
    if (info.tiled) {
      assertDecodable(info, `level ${levels.length} (IFD ${i})`);
      levels.push({ info, ifdIndex: i, subIfdIndex: undefined });
      return;
    }
    const name = i === 1 ? 'thumbnail' : associatedName(info.description);
    // an associated image whose numbers disagree is left out, not a reason to refuse the slide
    if (name && !associated.has(name) && !inconsistency(info)) associated.set(name, info);
  });
  if (levels.length === 0) return undefined;

  const properties: Record<string, string> = {
    ...tiffProperties(first),
    ...aperioProperties(description),
    'openslide.vendor': 'aperio',
    'openslide.comment': description,
  };
  const mpp = parseNumber(properties['aperio.MPP']);
  const mag = parseNumber(properties['aperio.AppMag']);
  if (mpp !== undefined) {
    properties['openslide.mpp-x'] = formatG17(mpp);
    properties['openslide.mpp-y'] = formatG17(mpp);
  }
  if (mag !== undefined) properties['openslide.objective-power'] = String(mag);
  return {
    vendor: 'aperio',
    levels,
    associated,
    properties,
    mppX: mpp,
    mppY: mpp,
    objectivePower: mag,
    notes: [],
  };
}

function parseNumber(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}
