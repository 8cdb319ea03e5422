// The multi-channel OME-TIFF fixtures (test/fixtures/ome-channels/) and what
// tests check them against: tifffile's values, their percentiles, the composite.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const OME_CHANNELS_DIR = fileURLToPath(new URL('../fixtures/ome-channels/', import.meta.url));

export interface Ref {
  file: string;
  channels: number;
  bits: 8 | 16;
  levels: Array<[number, number]>;
  names: string[];
  colors: string[];
}

export const REFS: Ref[] = [
  { file: 'fluo-3c-u16.ome.tif', channels: 3, bits: 16, levels: [[520, 300], [260, 150], [130, 75]], names: ['DAPI', 'FITC', 'TRITC'], colors: ['#0000ff', '#00ff00', '#ff0000'] },
  {
    file: 'fluo-4c-u8.ome.tif',
    channels: 4,
    bits: 8,
    levels: [[400, 300], [200, 150], [100, 75]],
    names: ['Hoechst', 'CD3', 'CD8', 'Ki67'],
    colors: ['#0000ff', '#00ff00', '#ff00ff', '#ffff00'],
  },
];

/** tifffile's values: channel-major (C, H, W) little-endian samples, as one array per channel. */
export function reference(file: string, what: string, channels: number, bits: 8 | 16): Array<Uint8Array | Uint16Array> {
  const raw = gunzipSync(readFileSync(`${OME_CHANNELS_DIR}${file}.${what}.raw.gz`));
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
  const all = bits === 16 ? new Uint16Array(bytes.buffer) : bytes;
  const n = all.length / channels;
  return Array.from({ length: channels }, (_, c) => all.slice(c * n, (c + 1) * n));
}

/** The 0.1 / 99.9 percentiles as "the smallest v with at least p% of the values <= v", by sorting. */
export function sortedPercentiles(v: Uint8Array | Uint16Array): [number, number] {
  const s = Array.from(v).sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return [at(0.1), at(99.9)];
}

/** The composite, written out here: sum of clamp((v - lo) / (hi - lo)) x colour, rounded, clamped; opaque. */
export function referenceComposite(
  planes: Array<Uint8Array | Uint16Array>,
  settings: Array<{ color: [number, number, number]; limits: [number, number] }>,
  n: number,
): Uint8Array {
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const sum = [0, 0, 0];
    settings.forEach((s, k) => {
      const t = Math.min(1, Math.max(0, (planes[k]![i]! - s.limits[0]) / (s.limits[1] - s.limits[0])));
      for (let c = 0; c < 3; c++) sum[c] += t * s.color[c]!;
    });
    for (let c = 0; c < 3; c++) out[4 * i + c] = Math.min(255, Math.round(sum[c]!));
    out[4 * i + 3] = 255;
  }
  return out;
}

