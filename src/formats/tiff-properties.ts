// OpenSlide's tiff.* properties of a directory, formatted as OpenSlide prints them.
import { num, text, type Ifd } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';

const TEXT_TAGS: [number, string][] = [
  [Tag.ImageDescription, 'ImageDescription'],
  [Tag.Make, 'Make'],
  [Tag.Model, 'Model'],
  [Tag.Software, 'Software'],
  [Tag.DateTime, 'DateTime'],
  [Tag.Artist, 'Artist'],
  [Tag.HostComputer, 'HostComputer'],
  [Tag.Copyright, 'Copyright'],
  [Tag.DocumentName, 'DocumentName'],
];

/** A float as C's "%.17g" prints it (libtiff hands resolutions over as 32-bit floats). */
export function formatG17(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  let s = x.toPrecision(17);
  if (s.includes('e')) {
    const [m, e] = s.split('e');
    return `${trimZeros(m!)}e${e!.startsWith('-') ? '-' : '+'}${e!.replace(/^[+-]/, '').padStart(2, '0')}`;
  }
  s = trimZeros(s);
  return s;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function tiffProperties(ifd: Ifd): Record<string, string> {
  const p: Record<string, string> = {};
  for (const [tag, name] of TEXT_TAGS) {
    const v = text(ifd, tag);
    if (v !== undefined) p[`tiff.${name}`] = v;
  }
  const xr = num(ifd, Tag.XResolution);
  const yr = num(ifd, Tag.YResolution);
  if (xr !== undefined) p['tiff.XResolution'] = formatG17(Math.fround(xr));
  if (yr !== undefined) p['tiff.YResolution'] = formatG17(Math.fround(yr));
  const unit = num(ifd, Tag.ResolutionUnit) ?? 2; // TIFF default: inch
  p['tiff.ResolutionUnit'] = unit === 1 ? 'none' : unit === 2 ? 'inch' : unit === 3 ? 'centimeter' : 'unknown';
  return p;
}
