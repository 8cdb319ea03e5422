// Multi-channel (fluorescence) images: what a channel is, how channels are shown
// (per-channel colour, contrast window, on/off), the composite to RGBA and the
// histogram-based default contrast. Pure and isomorphic: the server's pixel
// workers and the viewer (direct mode) composite with this same code.
import { ImageboxError } from '../errors.js';
import type { ChannelPlane, RGBA } from '../contracts/pixels.js';

export type Rgb = [number, number, number];

/** One channel of a multi-channel slide. */
export interface ChannelInfo {
  index: number;
  name: string;
  /** Display colour from the file (OME Channel/@Color), 0..255 each. */
  color: Rgb;
  dataType: 'uint8' | 'uint16';
  /** Largest value of the data type (255 or 65535). */
  max: number;
  /** Default contrast window [lo, hi]: the 0.1 and 99.9 percentiles of the smallest level (the type's range when not computed). */
  contrastLimits: [number, number];
}

/** How one enabled channel is shown: its value through [lo, hi] -> [0, 1], times its colour. */
export interface ChannelSetting {
  index: number;
  color: Rgb;
  limits: [number, number];
}

/** The enabled channels, in the order they are added (channels not listed are off). */
export type ChannelDisplay = ChannelSetting[];

/** Percentiles used for the default contrast window. */
export const DEFAULT_PERCENTILES: readonly [number, number] = [0.1, 99.9];

/** Every channel on, with the file's colours and the default contrast windows. */
export function defaultDisplay(channels: readonly ChannelInfo[]): ChannelDisplay {
  return channels.map((c) => ({ index: c.index, color: [...c.color] as Rgb, limits: [...c.contrastLimits] as [number, number] }));
}

/** One channel alone, in grey, with its default window (or the limits given). */
export function greyDisplay(channel: ChannelInfo, limits?: [number, number]): ChannelDisplay {
  return [{ index: channel.index, color: [255, 255, 255], limits: limits ?? [...channel.contrastLimits] }];
}

/** A canonical text of a display (cache keys, canonical URLs): "i:rrggbb:lo-hi" joined by ",". */
export function displayKey(display: ChannelDisplay): string {
  return display.map((s) => `${s.index}:${s.color.map((v) => v.toString(16).padStart(2, '0')).join('')}:${s.limits[0]}-${s.limits[1]}`).join(',');
}

/** Fail unless a display is valid for these channels (indices, colours, limits in range). */
export function checkDisplay(display: ChannelDisplay, channels: readonly ChannelInfo[]): void {
  if (!Array.isArray(display) || display.length > channels.length) throw new ImageboxError('E_BAD_REQUEST', `a channel display of ${channels.length} channels at most`);
  const seen = new Set<number>();
  for (const s of display) {
    const ch = channels[s.index];
    if (!ch || !Number.isInteger(s.index)) throw new ImageboxError('E_BAD_REQUEST', `no channel ${String(s.index)} (the slide has ${channels.length})`);
    if (seen.has(s.index)) throw new ImageboxError('E_BAD_REQUEST', `channel ${s.index} listed twice`);
    seen.add(s.index);
    if (s.color.length !== 3 || s.color.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) throw new ImageboxError('E_BAD_REQUEST', `channel ${s.index}: colour ${String(s.color)}`);
    const [lo, hi] = s.limits;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo < 0 || hi > ch.max || lo >= hi) {
      throw new ImageboxError('E_BAD_REQUEST', `channel ${s.index}: contrast limits ${lo}-${hi} (need 0 <= lo < hi <= ${ch.max})`);
    }
  }
}

/**
 * The composite: for each pixel, the sum over the enabled channels of
 * clamp((v - lo) / (hi - lo), 0, 1) x colour, rounded and clamped to 0..255;
 * opaque. `planes[i]` is the channel of `display[i]`, all width x height.
 */
export function compositeChannels(planes: readonly ChannelPlane[], display: ChannelDisplay, width: number, height: number): RGBA {
  const n = width * height;
  const out = new Uint8Array(n * 4);
  const acc = new Float64Array(n * 3);
  planes.forEach((p, k) => {
    const s = display[k]!;
    if (p.width !== width || p.height !== height) throw new ImageboxError('E_INTERNAL', `channel plane ${p.width}x${p.height}, composite ${width}x${height}`);
    const [lo, hi] = s.limits;
    const span = hi - lo;
    const [r, g, b] = s.color;
    const d = p.data;
    for (let i = 0; i < n; i++) {
      const t = (d[i]! - lo) / span;
      if (t <= 0) continue;
      const f = t >= 1 ? 1 : t;
      acc[3 * i] += f * r;
      acc[3 * i + 1] += f * g;
      acc[3 * i + 2] += f * b;
    }
  });
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(acc[3 * i + c]!);
      out[4 * i + c] = v > 255 ? 255 : v;
    }
    out[4 * i + 3] = 255;
  }
  return { width, height, data: out };
}

/**
 * Percentile limits of a channel's values (histogram; p in 0..100): for each p the
 * smallest value v with at least p% of the samples <= v; hi is kept above lo.
 */
export function percentileLimits(data: Uint8Array | Uint16Array, max: number, percentiles: readonly [number, number] = DEFAULT_PERCENTILES): [number, number] {
  if (data.length === 0) return [0, max];
  const hist = new Float64Array(max + 1);
  for (let i = 0; i < data.length; i++) hist[data[i]!]++;
  const at = (p: number): number => {
    const need = (p / 100) * data.length;
    let sum = 0;
    for (let v = 0; v <= max; v++) {
      sum += hist[v]!;
      if (sum >= need && sum > 0) return v;
    }
    return max;
  };
  let lo = at(percentiles[0]);
  let hi = at(percentiles[1]);
  if (hi <= lo) {
    if (lo >= max) lo = max - 1;
    hi = lo + 1;
  }
  return [lo, hi];
}
