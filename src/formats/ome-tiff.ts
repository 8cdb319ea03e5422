// OME-TIFF: the first image's full resolution in IFD 0 and its pyramid in IFD 0's
// SubIFDs (the OME 6 pyramid layout, as written by vips, bfconvert, QuPath).
// OpenSlide 3.4.1 reads such a file as generic-tiff and sees one level: we read
// the SubIFDs too. MPP comes from Pixels/@PhysicalSizeX/Y (+ unit, default µm).
import { imageInfo, text } from './tiff/ifd.js';
import { Tag } from './tiff/tags.js';
import type { TiffFile } from './tiff/tiff-file.js';
import { ImageboxError } from '../errors.js';
import type { ImageInfo } from './tiff/ifd.js';
import type { LayoutChannel, LayoutLevel, SlideLayout } from './slide-layout.js';
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

/** The most channels a multi-channel image may have (fluorescence panels; more is refused at open). */
export const MAX_CHANNELS = 8;

/** The pyramid whose full resolution is main-chain IFD `index`: it and its SubIFDs, largest first. */
function pyramidAt(tiff: TiffFile, index: number): LayoutLevel[] | undefined {
  const first = tiff.ifds[index];
  const base = first && imageInfo(first);
  if (!first || !base) return undefined;
  const levels: LayoutLevel[] = [{ info: base, ifdIndex: index, subIfdIndex: undefined }];
  first.subIfds.forEach((sub, k) => {
    const info = sub && imageInfo(sub);
    if (info && info.width < base.width) levels.push({ info, ifdIndex: index, subIfdIndex: k });
  });
  return levels.sort((a, b) => b.info.width - a.info.width);
}

/** OME Color: a signed 32-bit RGBA integer (default opaque white). */
function omeColor(v: string | undefined): [number, number, number] {
  const n = v === undefined || !/^-?\d{1,10}$/.test(v) ? -1 : Number(v);
  const u = n >>> 0;
  return [(u >>> 24) & 255, (u >>> 16) & 255, (u >>> 8) & 255];
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(tag)?.[1];
}

/** XML attribute text unescaped (&amp; &lt; &gt; &quot; &apos; and numeric references). */
function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
    const k = e.toLowerCase();
    if (k[0] === '#') {
      const cp = k[1] === 'x' ? parseInt(k.slice(2), 16) : Number(k.slice(1));
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[k] ?? m;
  });
}

/**
 * The channels of the first image when it is a multi-channel one stored OME's
 * planar way (SizeC > 1, one sample per pixel: one IFD per channel plane, each
 * with its pyramid in its SubIFDs); undefined for RGB and one-channel images.
 * Only the first Z and T plane is read.
 */
function omeChannels(tiff: TiffFile, xml: string, base: ImageInfo): LayoutChannel[] | undefined {
  const sizeC = Number(pixelsAttribute(xml, 'SizeC') ?? 1);
  if (!Number.isInteger(sizeC) || sizeC < 2 || base.samplesPerPixel !== 1) return undefined;
  if (sizeC > MAX_CHANNELS) throw new ImageboxError('E_NOT_A_SLIDE', `${sizeC} channels (at most ${MAX_CHANNELS} are read)`);
  const order = pixelsAttribute(xml, 'DimensionOrder') ?? 'XYCZT';
  const sizeZ = Math.max(1, Number(pixelsAttribute(xml, 'SizeZ') ?? 1) || 1);
  const sizeT = Math.max(1, Number(pixelsAttribute(xml, 'SizeT') ?? 1) || 1);
  // the IFD of plane (c, z = 0, t = 0): C's stride in the dimension order
  let stride = 1;
  for (const d of order.slice(2)) {
    if (d === 'C') break;
    stride *= d === 'Z' ? sizeZ : d === 'T' ? sizeT : 1;
  }
  const pixels = /<(?:\w+:)?Pixels\b[^>]*>([\s\S]*?)<\/(?:\w+:)?Pixels>/.exec(xml)?.[1] ?? '';
  const tags = pixels.match(/<(?:\w+:)?Channel\b[^>]*>/g) ?? [];
  const channels: LayoutChannel[] = [];
  for (let c = 0; c < sizeC; c++) {
    const index = c * stride;
    const pyramid = pyramidAt(tiff, index);
    if (!pyramid) throw new ImageboxError('E_MALFORMED', `channel ${c}: no image in IFD ${index} (SizeC ${sizeC}, ${tiff.ifds.length} IFDs)`);
    const tag = tags[c] ?? '';
    const name = unescapeXml(attr(tag, 'Name') ?? `Channel ${c}`);
    channels.push({ name, color: omeColor(attr(tag, 'Color')), levels: pyramid.map((l) => l.info) });
  }
  const ref = channels[0]!.levels;
  for (const [c, ch] of channels.entries()) {
    if (ch.levels.length !== ref.length) throw new ImageboxError('E_MALFORMED', `channel ${c} has ${ch.levels.length} levels, channel 0 ${ref.length}`);
    ch.levels.forEach((info, i) => {
      const r = ref[i]!;
      if (info.width !== r.width || info.height !== r.height || info.tileWidth !== r.tileWidth || info.tileHeight !== r.tileHeight || info.tiled !== r.tiled) {
        throw new ImageboxError('E_MALFORMED', `channel ${c} level ${i} is ${info.width}x${info.height} in ${info.tileWidth}x${info.tileHeight} tiles, channel 0's ${r.width}x${r.height} in ${r.tileWidth}x${r.tileHeight}`);
      }
      if (info.samplesPerPixel !== 1 || info.bitsPerSample !== r.bitsPerSample || info.sampleFormat !== 1) {
        throw new ImageboxError('E_NOT_A_SLIDE', `channel ${c} level ${i}: ${info.samplesPerPixel} samples of ${info.bitsPerSample} bits (format ${info.sampleFormat}); channels are read as one unsigned 8- or 16-bit sample`);
      }
      if (!LOSSLESS.has(info.compression)) throw new ImageboxError('E_NOT_A_SLIDE', `channel ${c} level ${i}: compression ${info.compression} (channels are read from uncompressed, LZW or Deflate tiles)`);
      assertDecodable(info, `channel ${c} level ${i}`, [8, 16]);
    });
  }
  return channels;
}

const LOSSLESS = new Set([1, 5, 8, 32946]);

export function readOmeTiff(tiff: TiffFile): SlideLayout | undefined {
  if (!isOmeTiff(tiff)) return undefined;
  const first = tiff.ifds[0]!;
  const levels = pyramidAt(tiff, 0);
  if (!levels) return undefined;
  const base = levels[0]!.info;
  const xml = text(first, Tag.ImageDescription)!;
  const channels = omeChannels(tiff, xml, base);
  if (!channels) levels.forEach((l, i) => assertDecodable(l.info, `level ${i}`));
  const mppX = omeMpp(xml, 'X');
  const mppY = omeMpp(xml, 'Y');
  const properties: Record<string, string> = {
    ...tiffProperties(first),
    'openslide.vendor': 'ome-tiff',
    'openslide.comment': xml,
  };
  if (mppX !== undefined) properties['openslide.mpp-x'] = formatG17(mppX);
  if (mppY !== undefined) properties['openslide.mpp-y'] = formatG17(mppY);
  if (channels) {
    properties['ome.channel-count'] = String(channels.length);
    channels.forEach((ch, i) => {
      properties[`ome.channel[${i}].name`] = ch.name;
      properties[`ome.channel[${i}].color`] = '#' + ch.color.map((v) => v.toString(16).padStart(2, '0')).join('');
      properties[`ome.channel[${i}].data-type`] = `uint${ch.levels[0]!.bitsPerSample}`;
    });
  }
  return {
    ...(channels ? { channels } : {}),
    vendor: 'ome-tiff',
    levels,
    associated: new Map(),
    properties,
    mppX,
    mppY,
    objectivePower: undefined,
    notes: [
      ...(levels.length > 1 ? ['OpenSlide 3.4.1 ignores SubIFDs and reports one level; the pyramid is in the SubIFDs'] : []),
      ...(channels ? [`${channels.length} channels (one IFD each), composited for RGBA reads; OpenSlide reads channel 0 only`] : []),
    ],
  };
}
