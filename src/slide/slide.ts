// The Slide: a pyramid of levels, associated images and properties over one
// ByteSource (a TIFF file, or the files of a DICOM series joined into one
// address space by src/io/joined-source.ts). tile() returns the stored bytes of one tile plus what a codec
// needs; it costs at most two round trips (offset slice, tile bytes) and one
// once the level's offset arrays are resident (loaded in the background after
// the first tile of a level).

import { ImageboxError } from '../errors.js';
import type { ByteSource, IoStats } from '../io/byte-source.js';
import type { InlineImage, SlideLayout, TileMap } from '../formats/slide-layout.js';
import type { ImageInfo } from '../formats/tiff/ifd.js';
import { formatG17 } from '../formats/tiff-properties.js';
import { MAX_INTERVAL_BYTES, type RestartJpeg } from '../formats/ndpi.js';
import type { TiffFile } from '../formats/tiff/tiff-file.js';
import { AperioMissingTiles } from './missing-tiles.js';
import type { EncodedTile } from '../contracts/tile.js';
import type { ChannelPlane, PixelReader, RGBA } from '../contracts/pixels.js';
import { BAND_PIXELS, MAX_REGION_PIXELS, levelRegion, readRegion, readScaledRegion, readTile } from './region.js';
import { LazyArray } from '../formats/tiff/lazy-array.js';
import { checkDisplay, compositeChannels, defaultDisplay, percentileLimits, type ChannelDisplay, type ChannelInfo } from './channels.js';
import type { Level } from './types.js';

/** The default contrast limits come from the smallest level when it has at most this many pixels. */
const DEFAULT_LIMITS_MAX_PIXELS = 1024 * 1024;

/** Arrays at most this big are loaded whole on first use instead of block by block. */
const LOAD_WHOLE_ARRAY_BYTES = 256 * 1024;

export interface AssociatedImage {
  name: string;
  width: number;
  height: number;
}

export interface SlideDescription {
  vendor: string;
  width: number;
  height: number;
  levels: Level[];
  mppX: number | undefined;
  mppY: number | undefined;
  objectivePower: number | undefined;
  associated: AssociatedImage[];
  properties: Record<string, string>;
  notes: string[];
}

/** The container a layout was read from, as the slide needs it: its size (bounds every tile read). */
export interface SlideContainer {
  readonly size: number;
}

function isTiff(c: SlideContainer): c is TiffFile {
  return Array.isArray((c as Partial<TiffFile>).ifds);
}

export interface SlideOptions {
  /** Load a level's offset arrays in the background after its first tile (default true). */
  backgroundWarm?: boolean;
  /** Decoders and pixel kernels for readTile/readRegion (the platform entry injects them). */
  pixels?: PixelReader;
}

export class Slide {
  readonly vendor: string;
  readonly levels: readonly Level[];
  readonly mppX: number | undefined;
  readonly mppY: number | undefined;
  readonly objectivePower: number | undefined;
  readonly properties: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
  private readonly levelInfo: ImageInfo[];
  private readonly associatedInfo: Map<string, ImageInfo>;
  private readonly inlineAssociated: Map<string, InlineImage>;
  private readonly warming = new Map<ImageInfo, Promise<void>>();
  private readonly warmListeners = new Set<() => void>();
  /** Levels whose whole-array load failed: not tried again before `until` (doubling, up to a minute). */
  private readonly warmBackoff = new Map<ImageInfo, { until: number; delayMs: number }>();
  private readonly aperioMissing: AperioMissingTiles | undefined;
  /**
   * Set once the source reports its bytes changed: this slide's offsets, sizes and
   * tables describe the old bytes, so nothing it reads from then on is its data
   * (a retry, a later read, would take the new file's bytes at the old offsets).
   */
  private changedError: ImageboxError | undefined;
  /** The ICC profile the slide's pixels are in, when the file gives one (DICOM optical path). */
  readonly iccProfile: Uint8Array | undefined;
  /** Multi-channel slides: each channel's plane per level (channel 0's are levelInfo). */
  private readonly channelLevels: ImageInfo[][] | undefined;
  private readonly channelInfo: ChannelInfo[] | undefined;
  private readonly props: Record<string, string>;
  /** Per level, its tile map when it is painted from overlapping stored tiles (Ventana BIF). */
  private readonly tileMaps: (TileMap | undefined)[];

  constructor(
    readonly source: ByteSource,
    /** What the layout was read from: a TiffFile, or anything that knows the source's size. */
    readonly container: SlideContainer,
    layout: SlideLayout & { iccProfile?: Uint8Array | undefined },
    private readonly options: SlideOptions = {},
  ) {
    this.iccProfile = layout.iccProfile;
    this.vendor = layout.vendor;
    this.levelInfo = layout.levels.map((l) => l.info);
    const base = this.levelInfo[0]!;
    this.tileMaps = layout.levels.map((l) => l.tileMap);
    this.levels = this.levelInfo.map((i, k) => {
      // a tile-map level keeps a virtual grid of the stored tile size over the map's size
      const { width, height } = this.tileMaps[k] ?? i;
      return {
        width,
        height,
        tileWidth: i.tileWidth,
        tileHeight: i.tileHeight,
        downsample: layout.levels[k]!.downsample ?? (base.width / i.width + base.height / i.height) / 2,
        cols: Math.ceil(width / i.tileWidth),
        rows: Math.ceil(height / i.tileHeight),
      };
    });
    this.mppX = layout.mppX;
    this.mppY = layout.mppY;
    this.objectivePower = layout.objectivePower;
    this.associatedInfo = layout.associated;
    this.inlineAssociated = new Map([...(layout.inlineAssociated ?? [])].filter(([n]) => !layout.associated.has(n)));
    this.notes = layout.notes;
    const props: Record<string, string> = { ...layout.properties };
    props['openslide.level-count'] = String(this.levels.length);
    this.levels.forEach((l, i) => {
      props[`openslide.level[${i}].width`] = String(l.width);
      props[`openslide.level[${i}].height`] = String(l.height);
      props[`openslide.level[${i}].tile-width`] = String(l.tileWidth);
      props[`openslide.level[${i}].tile-height`] = String(l.tileHeight);
      props[`openslide.level[${i}].downsample`] = formatG17(l.downsample);
    });
    this.properties = this.props = props;
    if (layout.channels) {
      this.channelLevels = layout.channels.map((c) => c.levels);
      this.channelInfo = layout.channels.map((c, index) => {
        const bits = c.levels[0]!.bitsPerSample;
        const max = bits === 16 ? 65535 : 255;
        return { index, name: c.name, color: c.color, dataType: bits === 16 ? 'uint16' : 'uint8', max, contrastLimits: [0, max] };
      });
    }
    source.onChange?.((e) => {
      this.changedError ??= e;
    });
    this.aperioMissing =
      this.vendor === 'aperio'
        ? new AperioMissingTiles(this.levelInfo.map((info, i) => ({ ...this.levels[i]!, byteCounts: info.byteCounts })))
        : undefined;
  }

  /** The TIFF under a TIFF-based slide (E_INTERNAL for other containers). */
  get tiff(): TiffFile {
    if (!isTiff(this.container)) throw new ImageboxError('E_INTERNAL', `a ${this.vendor} slide has no TIFF file`);
    return this.container;
  }

  get width(): number {
    return this.levels[0]!.width;
  }

  get height(): number {
    return this.levels[0]!.height;
  }

  get associatedImages(): AssociatedImage[] {
    return [...this.associatedInfo, ...this.inlineAssociated].map(([name, i]) => ({ name, width: i.width, height: i.height }));
  }

  describe(): SlideDescription {
    return {
      vendor: this.vendor,
      width: this.width,
      height: this.height,
      levels: this.levels.map((l) => ({ ...l })),
      mppX: this.mppX,
      mppY: this.mppY,
      objectivePower: this.objectivePower,
      associated: this.associatedImages,
      properties: { ...this.properties },
      notes: [...this.notes],
    };
  }

  /** Counters of the source under the slide (requests, bytes). */
  stats(): IoStats | undefined {
    return this.source.stats?.();
  }

  /** The stored tile at (col, row) of a level. Missing (zero-length) tiles are data, not errors. */
  async tile(level: number, col: number, row: number, signal?: AbortSignal): Promise<EncodedTile> {
    const l = this.levels[level];
    const info = this.levelInfo[level];
    if (!l || !info) throw new ImageboxError('E_BAD_REQUEST', `no level ${level} (the slide has ${this.levels.length})`);
    if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= l.cols || row >= l.rows) {
      throw new ImageboxError('E_BAD_REQUEST', `no tile (${col}, ${row}) at level ${level} (${l.cols} x ${l.rows} tiles)`);
    }
    const map = this.tileMaps[level];
    if (map) {
      // no stored tile is this one: it is painted from the overlapping stored tiles (render it)
      return {
        level, col, row, bytes: new Uint8Array(0), missing: true, render: true,
        compression: info.compression, jpegTables: undefined, photometric: info.photometric,
        samplesPerPixel: info.samplesPerPixel, bitsPerSample: info.bitsPerSample, predictor: info.predictor,
        planarConfig: info.planarConfig, ycbcrSubsampling: info.ycbcrSubsampling, tiled: true,
        width: info.tileWidth, height: info.tileHeight,
        validWidth: Math.min(info.tileWidth, l.width - col * info.tileWidth),
        validHeight: Math.min(info.tileHeight, l.height - row * info.tileHeight),
      };
    }
    return this.segment(info, level, col, row, signal);
  }

  /** The tile map of a level painted from overlapping stored tiles (Ventana BIF), else undefined. */
  tileMap(level: number): TileMap | undefined {
    return this.tileMaps[level];
  }

  /**
   * A tile of a level's stored grid (the directory's tiles), which is the level's
   * own grid except on a tile-map level (see tileMap()).
   */
  async storedTile(level: number, col: number, row: number, signal?: AbortSignal): Promise<EncodedTile> {
    const info = this.levelInfo[level];
    if (!info) throw new ImageboxError('E_BAD_REQUEST', `no level ${level} (the slide has ${this.levels.length})`);
    const cols = Math.ceil(info.width / info.tileWidth);
    const rows = Math.ceil(info.height / info.tileHeight);
    if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= cols || row >= rows) {
      throw new ImageboxError('E_BAD_REQUEST', `no stored tile (${col}, ${row}) at level ${level} (${cols} x ${rows} tiles)`);
    }
    return this.segment(info, level, col, row, signal);
  }

  /**
   * The decoded tile at (col, row) of a level, cropped to the image. On a
   * multi-channel slide every RGBA read is the composite of `display` (default:
   * every channel, the file's colours, the default contrast limits).
   */
  async readTile(level: number, col: number, row: number, signal?: AbortSignal, display?: ChannelDisplay): Promise<RGBA> {
    return readTile(this, this.pixelReader(display), level, col, row, signal);
  }

  /**
   * OpenSlide's read_region: (x, y) in level-0 pixels, w x h pixels of `level`,
   * composed across tile borders; outside the image and missing tiles transparent.
   */
  async readRegion(x: number, y: number, level: number, width: number, height: number, signal?: AbortSignal, display?: ChannelDisplay): Promise<RGBA> {
    return readRegion(this, this.pixelReader(display), x, y, level, width, height, signal);
  }

  /** Pixels of a level's own grid (integer level coordinates), optionally at 1/scale (DCT-scaled decode). */
  async readLevelRegion(level: number, x: number, y: number, width: number, height: number, signal?: AbortSignal, scale: 1 | 2 | 4 | 8 = 1, display?: ChannelDisplay): Promise<RGBA> {
    return levelRegion(this, this.pixelReader(display), level, x, y, width, height, signal, scale);
  }

  /** A level-0 region read from `level` and delivered at outWidth x outHeight (IIIF): DCT-scaled decode + the remaining resample. */
  async readScaledRegion(
    level: number,
    x0: number,
    y0: number,
    w0: number,
    h0: number,
    outWidth: number,
    outHeight: number,
    signal?: AbortSignal,
    display?: ChannelDisplay,
  ): Promise<RGBA> {
    return readScaledRegion(this, this.pixelReader(display), level, x0, y0, w0, h0, outWidth, outHeight, signal);
  }

  /** The channels of a multi-channel slide (OME-TIFF fluorescence), undefined for RGB slides. */
  get channels(): ChannelInfo[] | undefined {
    return this.channelInfo?.map((c) => ({ ...c, color: [...c.color], contrastLimits: [...c.contrastLimits] }));
  }

  /** The stored tile of one channel (multi-channel slides; channel 0's is tile()). */
  async channelTile(channel: number, level: number, col: number, row: number, signal?: AbortSignal): Promise<EncodedTile> {
    const planes = this.channelLevels;
    if (!planes) throw new ImageboxError('E_BAD_REQUEST', `a ${this.vendor} slide has no channels`);
    const info = planes[channel]?.[level];
    if (!Number.isInteger(channel) || !info) throw new ImageboxError('E_BAD_REQUEST', `no channel ${channel} at level ${level} (${planes.length} channels, ${this.levels.length} levels)`);
    const l = this.levels[level]!;
    if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= l.cols || row >= l.rows) {
      throw new ImageboxError('E_BAD_REQUEST', `no tile (${col}, ${row}) at level ${level} (${l.cols} x ${l.rows} tiles)`);
    }
    return this.withByteOrder(await this.segment(info, level, col, row, signal));
  }

  /** A tile marked big-endian when the file is (16-bit channel values are read exactly). */
  private withByteOrder(t: EncodedTile): EncodedTile {
    return isTiff(this.container) && !this.container.littleEndian ? { ...t, littleEndian: false } : t;
  }

  /**
   * Channel values of a region of a level's grid (integer level coordinates; may
   * overhang the image, where the values are 0): one plane per channel asked
   * (default: all), each value exactly as stored (8- or 16-bit).
   */
  async readChannels(level: number, x: number, y: number, width: number, height: number, channels?: readonly number[], signal?: AbortSignal): Promise<ChannelPlane[]> {
    const info = this.channelInfo;
    if (!info) throw new ImageboxError('E_BAD_REQUEST', `a ${this.vendor} slide has no channels`);
    const l = this.levels[level];
    if (!l) throw new ImageboxError('E_BAD_REQUEST', `no level ${level} (the slide has ${this.levels.length})`);
    if (![x, y, width, height].every(Number.isSafeInteger) || width <= 0 || height <= 0) {
      throw new ImageboxError('E_BAD_REQUEST', `region ${x},${y} ${width}x${height}`);
    }
    const list = channels ?? info.map((c) => c.index);
    if (list.length > info.length) throw new ImageboxError('E_BAD_REQUEST', `${list.length} channels asked, the slide has ${info.length}`);
    for (const c of list) if (!info[c]) throw new ImageboxError('E_BAD_REQUEST', `no channel ${c} (the slide has ${info.length})`);
    if (width * height * list.length > MAX_REGION_PIXELS) {
      throw new ImageboxError('E_TOO_LARGE', `${list.length} channels of ${width}x${height} are over the ${MAX_REGION_PIXELS / (1024 * 1024)} M samples a read may have`);
    }
    const px = this.pixelReader();
    const decode = px.channel;
    if (!decode) throw new ImageboxError('E_INTERNAL', 'these decoders read no channel samples');
    const c0 = Math.max(0, Math.floor(x / l.tileWidth));
    const r0 = Math.max(0, Math.floor(y / l.tileHeight));
    const c1 = Math.min(l.cols - 1, Math.floor((x + width - 1) / l.tileWidth));
    const r1 = Math.min(l.rows - 1, Math.floor((y + height - 1) / l.tileHeight));
    return Promise.all(
      list.map(async (c) => {
        const out = info[c]!.max > 255 ? new Uint16Array(width * height) : new Uint8Array(width * height);
        const jobs: Promise<void>[] = [];
        // every tile read starts in the same tick (the range scheduler coalesces them)
        for (let r = r0; r <= r1; r++) {
          for (let col = c0; col <= c1; col++) {
            jobs.push(
              this.channelTile(c, level, col, r, signal).then(async (t) => {
                const p = await decode(t);
                const tx = col * l.tileWidth - x;
                const ty = r * l.tileHeight - y;
                const sx = Math.max(0, -tx);
                const ex = Math.min(p.width, width - tx);
                for (let yy = Math.max(0, -ty); yy < Math.min(p.height, height - ty); yy++) {
                  if (ex > sx) out.set(p.data.subarray(yy * p.width + sx, yy * p.width + ex), (ty + yy) * width + tx + sx);
                }
              }),
            );
          }
        }
        await Promise.all(jobs);
        return { width, height, data: out };
      }),
    );
  }

  /**
   * Set each channel's default contrast limits from the histogram of the smallest
   * level (DEFAULT_PERCENTILES) and list them in the properties
   * (ome.channel[i].contrast-limits). openSlide calls it once; a no-op for RGB slides.
   */
  async loadChannelDefaults(signal?: AbortSignal): Promise<void> {
    const info = this.channelInfo;
    if (!info) return;
    const last = this.levels.length - 1;
    const l = this.levels[last]!;
    if (l.width * l.height <= DEFAULT_LIMITS_MAX_PIXELS && this.options.pixels?.channel) {
      const planes = await this.readChannels(last, 0, 0, l.width, l.height, undefined, signal);
      planes.forEach((p, i) => (info[i]!.contrastLimits = percentileLimits(p.data, info[i]!.max)));
    }
    for (const c of info) this.props[`ome.channel[${c.index}].contrast-limits`] = `${c.contrastLimits[0]},${c.contrastLimits[1]}`;
  }

  /** The level OpenSlide would read for a downsample: the largest downsample not above it. */
  bestLevelForDownsample(downsample: number): number {
    if (downsample < this.levels[0]!.downsample) return 0;
    for (let i = 1; i < this.levels.length; i++) {
      if (downsample < this.levels[i]!.downsample) return i - 1;
    }
    return this.levels.length - 1;
  }

  /**
   * A thumbnail fitting maxWidth x maxHeight (aspect kept, PIL's rounding), made as
   * openslide-python's get_thumbnail: the best level read whole, composited on
   * white, area-averaged down.
   */
  async thumbnail(maxWidth: number, maxHeight: number, signal?: AbortSignal): Promise<RGBA> {
    const px = this.pixelReader();
    const ds = Math.max(this.width / maxWidth, this.height / maxHeight);
    const level = this.bestLevelForDownsample(ds);
    const l = this.levels[level]!;
    const [w, h] = thumbnailSize(l.width, l.height, maxWidth, maxHeight);
    if (l.width * l.height > BAND_PIXELS) {
      // a level too large to hold whole (a single-level 100k x 60k TIFF): read it a band at a time
      return px.flatten(await this.readScaledRegion(level, 0, 0, this.width, this.height, w, h, signal));
    }
    const whole = px.flatten(await this.readLevelRegion(level, 0, 0, l.width, l.height, signal));
    return w === l.width && h === l.height ? whole : px.resize(whole, w, h);
  }

  /** An associated image (thumbnail, label, macro) decoded whole. */
  async readAssociated(name: string, signal?: AbortSignal): Promise<RGBA> {
    const px = this.pixelReader();
    const inline = this.inlineAssociated.get(name);
    if (inline) {
      const [t] = await this.associatedStrips(name, signal);
      return px.decode(t!);
    }
    const info = this.associatedInfo.get(name);
    if (!info) throw new ImageboxError('E_NOT_FOUND', `no associated image "${name}"`);
    const strips = await this.associatedStrips(name, signal);
    const placed = await Promise.all(
      strips.map(async (t) => ({
        tile: await px.decode(t),
        x: t.col * info.tileWidth,
        y: t.row * info.tileHeight,
        validWidth: t.validWidth,
        validHeight: t.validHeight,
      })),
    );
    return px.compose(info.width, info.height, placed);
  }

  private pixelReader(display?: ChannelDisplay): PixelReader {
    const px = this.options.pixels;
    if (!px) throw new ImageboxError('E_INTERNAL', 'this slide was opened without decoders (options.pixels)');
    const info = this.channelInfo;
    if (!info) {
      if (display) throw new ImageboxError('E_BAD_REQUEST', `a ${this.vendor} slide has no channels to display`);
      return px;
    }
    const shown = display ?? defaultDisplay(info);
    checkDisplay(shown, info);
    const decodeChannel = px.channel;
    if (!decodeChannel) throw new ImageboxError('E_INTERNAL', 'these decoders read no channel samples');
    // tiles of channel 0 (what region.ts reads) stand for the same tile of every channel shown
    return {
      ...px,
      decode: async (tile, scale = 1) => {
        const planes = await Promise.all(
          shown.map(async (s) => decodeChannel(s.index === 0 || tile.level < 0 ? this.withByteOrder(tile) : await this.channelTile(s.index, tile.level, tile.col, tile.row))),
        );
        const img = compositeChannels(planes, shown, tile.validWidth, tile.validHeight);
        return scale === 1 ? img : px.resize(img, Math.ceil(img.width / scale), Math.ceil(img.height / scale));
      },
    };
  }

  /** The stored strips of an associated image (thumbnail, label, macro), each as an EncodedTile (col 0). */
  async associatedStrips(name: string, signal?: AbortSignal): Promise<EncodedTile[]> {
    const inline = this.inlineAssociated.get(name);
    if (inline) {
      return [
        {
          level: -1, col: 0, row: 0, bytes: inline.jpeg, missing: false, compression: 7, jpegTables: undefined,
          photometric: inline.photometric, samplesPerPixel: inline.components, bitsPerSample: 8, predictor: 1, planarConfig: 1,
          ycbcrSubsampling: [2, 2], tiled: true, width: inline.width, height: inline.height, validWidth: inline.width, validHeight: inline.height,
        },
      ];
    }
    const info = this.associatedInfo.get(name);
    if (!info) throw new ImageboxError('E_NOT_FOUND', `no associated image "${name}"`);
    const cols = Math.ceil(info.width / info.tileWidth);
    const rows = Math.ceil(info.height / info.tileHeight);
    const jobs: Promise<EncodedTile>[] = [];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) jobs.push(this.segment(info, -1, c, r, signal));
    return Promise.all(jobs);
  }

  /** Size of an associated image. */
  associatedSize(name: string): { width: number; height: number } | undefined {
    const i = this.associatedInfo.get(name) ?? this.inlineAssociated.get(name);
    return i && { width: i.width, height: i.height };
  }

  private async segment(info: ImageInfo, level: number, col: number, row: number, signal?: AbortSignal): Promise<EncodedTile> {
    const at = storedTile(info, col, row);
    const index = at?.index ?? 0;
    if (at && (index >= info.offsets.length || index >= info.byteCounts.length)) {
      throw new ImageboxError('E_MALFORMED', `tile ${index} is beyond the offset arrays (${info.offsets.length} entries)`);
    }
    if (this.changedError) throw this.changedError;
    const [offset, count] = at ? await this.locate(info, index, signal) : [0, 0];
    const base: Omit<EncodedTile, 'bytes' | 'missing'> = {
      level,
      col,
      row,
      compression: info.compression,
      jpegTables: info.jpegTables,
      photometric: info.photometric,
      samplesPerPixel: info.samplesPerPixel,
      bitsPerSample: info.bitsPerSample,
      predictor: info.predictor,
      planarConfig: info.planarConfig,
      ycbcrSubsampling: info.ycbcrSubsampling,
      tiled: info.tiled,
      width: info.tileWidth,
      height: info.tileHeight,
      validWidth: at?.validWidth ?? Math.min(info.tileWidth, info.width - col * info.tileWidth),
      validHeight: at?.validHeight ?? Math.min(info.tileHeight, info.height - row * info.tileHeight),
    };
    if (!at) return { ...base, bytes: new Uint8Array(0), missing: true }; // outside the stored area
    if (info.restart) this.checkInterval(info, index, offset, count);
    if (count === 0 || (level > 0 && this.aperioMissing && (await this.aperioMissing.isMissing(level, col, row, count)))) {
      return { ...base, bytes: new Uint8Array(0), missing: true };
    }
    if (offset + count > this.container.size) {
      throw new ImageboxError(
        'E_TRUNCATED',
        `tile (${col}, ${row}) of level ${level} lies at ${offset}+${count}, past the end of the file (${this.container.size} bytes)`,
      );
    }
    const [bytes] = await this.source.read([{ offset, length: count }], signal);
    // bytes that arrived after the source changed may be the new file's, at the old file's offsets
    if (this.changedError) throw this.changedError;
    if (this.options.backgroundWarm !== false && !this.warming.has(info) && !this.backedOff(info)) {
      // Large arrays: once this tile is served, bring the level's whole arrays in
      // a few large reads, so random tiles of this level soon cost one round trip.
      this.warm(info).catch(() => undefined);
    }
    return { ...base, bytes: info.restart ? intervalJpeg(info.restart, bytes!, col, row) : bytes!, missing: false };
  }

  /** A restart interval (NDPI McuStarts) must lie inside its JPEG's entropy-coded data. */
  private checkInterval(info: ImageInfo, index: number, offset: number, count: number): void {
    const r = info.restart!;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || offset < r.dataStart || count < 2 || offset + count > r.stripEnd) {
      throw new ImageboxError(
        'E_MALFORMED',
        `restart interval ${index} lies at ${offset}+${count}, outside its JPEG's data (${r.dataStart} to ${r.stripEnd}): bad McuStarts`,
      );
    }
    if (count > MAX_INTERVAL_BYTES) {
      throw new ImageboxError('E_TOO_LARGE', `restart interval ${index} claims ${count} bytes (at most ${MAX_INTERVAL_BYTES})`);
    }
  }

  /** Offset and byte count of segment `index`, warming the level's arrays on first use. */
  private async locate(info: ImageInfo, index: number, signal?: AbortSignal): Promise<[number, number]> {
    const o = info.offsets.peek(index);
    const c = info.byteCounts.peek(index);
    if (o !== undefined && c !== undefined) return [o, c];
    const wholeBytes = (info.offsets.length + info.byteCounts.length) * 8;
    if (wholeBytes <= LOAD_WHOLE_ARRAY_BYTES && !this.backedOff(info)) {
      // Small arrays: fetch them whole now, both in one tick (one coalesced request).
      try {
        await this.warm(info);
        return [info.offsets.peek(index)!, info.byteCounts.peek(index)!];
      } catch {
        // the whole load failed (and backs off): this tile reads just its blocks
      }
    }
    return (await Promise.all([info.offsets.get(index, signal), info.byteCounts.get(index, signal)])) as [number, number];
  }

  /**
   * Where a tile's bytes are, if its offset and byte count are already in memory
   * (no I/O); undefined when they are not, or the tile is empty.
   */
  tileByteRange(level: number, col: number, row: number): { offset: number; length: number } | undefined {
    const l = this.levels[level];
    const info = this.levelInfo[level];
    if (!l || !info || col < 0 || row < 0 || col >= l.cols || row >= l.rows || this.tileMaps[level]) return undefined;
    const at = storedTile(info, col, row);
    if (!at) return undefined;
    const index = at.index;
    const offset = info.offsets.peek(index);
    const length = info.byteCounts.peek(index);
    if (offset === undefined || !length || length < 0 || offset + length > this.container.size) return undefined;
    return { offset, length };
  }

  /** Whether a level's offset and byte-count arrays are all in memory (tiles then cost one read). */
  levelResident(level: number): boolean {
    const info = this.levelInfo[level];
    return info !== undefined && info.offsets.resident && info.byteCounts.resident;
  }

  /** Byte ranges of the file's offset and byte-count arrays that are wholly in memory (loaded lazily, not parsed at open). */
  residentArrayRanges(): { offset: number; length: number }[] {
    const out: { offset: number; length: number }[] = [];
    for (const info of this.levelInfo) {
      for (const a of [info.offsets, info.byteCounts]) if (a instanceof LazyArray && a.resident && a.length > 0) out.push(a.byteRange);
    }
    return out;
  }

  /** Told each time a level's whole arrays have loaded (the open cache keeps them). Returns an unsubscribe. */
  onArraysLoaded(listener: () => void): () => void {
    this.warmListeners.add(listener);
    return () => this.warmListeners.delete(listener);
  }

  /** Load a level's whole offset and byte-count arrays (once; shared by concurrent callers). */
  warmLevel(level: number): Promise<void> {
    const info = this.levelInfo[level];
    if (!info) return Promise.reject(new ImageboxError('E_BAD_REQUEST', `no level ${level}`));
    return this.warm(info);
  }

  private backedOff(info: ImageInfo): boolean {
    const b = this.warmBackoff.get(info);
    return b !== undefined && b.until > Date.now();
  }

  private warm(info: ImageInfo): Promise<void> {
    let p = this.warming.get(info);
    if (!p) {
      p = Promise.all([info.offsets.loadAll(), info.byteCounts.loadAll()]).then(
        () => {
          this.warmBackoff.delete(info);
          for (const l of [...this.warmListeners]) {
            try {
              l();
            } catch {
              /* not ours */
            }
          }
        },
        (e: unknown) => {
          this.warming.delete(info);
          // a failed multi-MB load is not repeated by every next tile: wait, doubling
          const delayMs = Math.min(60_000, (this.warmBackoff.get(info)?.delayMs ?? 500) * 2);
          this.warmBackoff.set(info, { until: Date.now() + delayMs, delayMs });
          throw e;
        },
      );
      this.warming.set(info, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

/**
 * One restart interval as a complete baseline JPEG: the level's header (SOF sized to
 * the tile, no DRI), the interval's entropy-coded bytes without the marker that ends
 * them (RSTn, or EOI for the last), EOI.
 */
function intervalJpeg(r: RestartJpeg, data: Uint8Array, col: number, row: number): Uint8Array {
  const n = data.length;
  const end = data[n - 2] === 0xff && ((data[n - 1]! >= 0xd0 && data[n - 1]! <= 0xd7) || data[n - 1] === 0xd9) ? n - 2 : -1;
  if (end < 0) throw new ImageboxError('E_CORRUPT_TILE', `restart interval (${col}, ${row}) does not end in a restart marker: bad McuStarts`);
  const out = new Uint8Array(r.header.length + end + 2);
  out.set(r.header, 0);
  out.set(data.subarray(0, end), r.header.length);
  out[out.length - 2] = 0xff;
  out[out.length - 1] = 0xd9;
  return out;
}

/**
 * Where a level's tile (col, row) is stored: its index in the offset arrays and,
 * for an area inside a larger plane, its valid size; undefined when the tile lies
 * outside the stored area (a missing tile).
 */
function storedTile(info: ImageInfo, col: number, row: number): { index: number; validWidth?: number; validHeight?: number } | undefined {
  const a = info.area;
  if (!a) return { index: row * (info.tilesAcross ?? Math.ceil(info.width / info.tileWidth)) + col };
  const c = col - a.col;
  const r = row - a.row;
  if (c < 0 || r < 0 || c >= a.cols || r >= a.rows) return undefined;
  return {
    index: r * a.cols + c,
    validWidth: Math.min(info.tileWidth, a.width - c * info.tileWidth),
    validHeight: Math.min(info.tileHeight, a.height - r * info.tileHeight),
  };
}

/** PIL's Image.thumbnail size rule (aspect kept, rounding towards the closer aspect). */
export function thumbnailSize(width: number, height: number, maxWidth: number, maxHeight: number): [number, number] {
  let x = Math.floor(maxWidth);
  let y = Math.floor(maxHeight);
  if (x >= width && y >= height) return [width, height];
  const aspect = width / height;
  const closest = (n: number, score: (k: number) => number) => {
    const lo = Math.floor(n);
    const hi = Math.ceil(n);
    return Math.max(score(lo) <= score(hi) ? lo : hi, 1);
  };
  if (x / y >= aspect) x = closest(y * aspect, (k) => Math.abs(aspect - k / y));
  else y = closest(x / aspect, (k) => (k === 0 ? 0 : Math.abs(aspect - x / k)));
  return [x, y];
}
