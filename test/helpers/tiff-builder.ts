// Builds small (Big)TIFF files byte by byte, for malformed-input tests.

export interface BuildEntry {
  tag: number;
  type: number;
  /** Inline numbers, or the raw value bytes (placed out of line when longer than the field). */
  values: number[] | Uint8Array;
  /** Override the count written in the entry (to lie about it). */
  count?: number;
  /** Override the value offset written for an out-of-line value. */
  offset?: number;
}

const SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 16: 8 };

/** A classic little- or big-endian TIFF with the given IFDs chained; returns the bytes. */
export function buildTiff(ifds: BuildEntry[][], opts: { little?: boolean; nextOverride?: number[] } = {}): Uint8Array {
  const little = opts.little ?? true;
  let room = 1 << 16;
  for (const entries of ifds) for (const e of entries) room += (e.values.length * (SIZE[e.type] ?? 1)) + 16;
  const buf = new Uint8Array(room);
  const dv = new DataView(buf.buffer);
  buf.set(little ? [0x49, 0x49] : [0x4d, 0x4d], 0);
  dv.setUint16(2, 42, little);
  let p = 8;
  const ifdOffsets: number[] = [];
  const patches: { at: number; ifd: number }[] = [];
  ifds.forEach((entries, k) => {
    const at = p;
    ifdOffsets.push(at);
    dv.setUint16(p, entries.length, little);
    p += 2;
    const tableEnd = p + entries.length * 12 + 4;
    let data = tableEnd;
    for (const e of entries) {
      dv.setUint16(p, e.tag, little);
      dv.setUint16(p + 2, e.type, little);
      const size = SIZE[e.type] ?? 1;
      const raw =
        e.values instanceof Uint8Array
          ? e.values
          : (() => {
              const b = new Uint8Array(e.values.length * size);
              const v = new DataView(b.buffer);
              e.values.forEach((x, i) => {
                if (size === 1) v.setUint8(i, x);
                else if (size === 2) v.setUint16(i * 2, x, little);
                else v.setUint32(i * 4, x, little);
              });
              return b;
            })();
      const count = e.count ?? raw.length / size;
      dv.setUint32(p + 4, count, little);
      if (raw.length <= 4 && e.offset === undefined) {
        buf.set(raw, p + 8);
      } else {
        const off = e.offset ?? data;
        dv.setUint32(p + 8, off, little);
        if (e.offset === undefined) {
          buf.set(raw, data);
          data += raw.length + (raw.length & 1);
        }
      }
      p += 12;
    }
    patches.push({ at: p, ifd: k });
    p = data;
  });
  dv.setUint32(4, ifdOffsets[0]!, little);
  for (const { at, ifd } of patches) {
    const next = opts.nextOverride?.[ifd] ?? ifdOffsets[ifd + 1] ?? 0;
    dv.setUint32(at, next, little);
  }
  return buf.slice(0, p);
}

/** A minimal tiled 8-bit RGB image directory (tile data is junk: only the structure matters). */
export function tiledImage(width: number, height: number, tile = 16, extra: BuildEntry[] = []): BuildEntry[] {
  const n = Math.ceil(width / tile) * Math.ceil(height / tile);
  return [
    { tag: 256, type: 4, values: [width] },
    { tag: 257, type: 4, values: [height] },
    { tag: 258, type: 3, values: [8, 8, 8] },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [2] },
    { tag: 277, type: 3, values: [3] },
    { tag: 322, type: 3, values: [tile] },
    { tag: 323, type: 3, values: [tile] },
    { tag: 324, type: 4, values: new Array(n).fill(8) },
    { tag: 325, type: 4, values: new Array(n).fill(1) },
    ...extra,
  ].sort((a, b) => a.tag - b.tag);
}

/**
 * A tiled slide as large as a real scan (e.g. 100,000 x 60,000 in 256 px tiles:
 * 92,000 tiles, 368 KB per offset array), every tile pointing at a distinct
 * small payload so a wrong offset is detectable: tile i holds the 4 bytes of i.
 */
export function bigTiledSlide(width: number, height: number, tile = 256): { bytes: Uint8Array; tiles: number } {
  const cols = Math.ceil(width / tile);
  const rows = Math.ceil(height / tile);
  const n = cols * rows;
  // Layout: header + IFD (built with placeholder arrays), then tile payloads at the end.
  const probe = buildTiff([tiledImage(width, height, tile)].map((img) => img.map((e) =>
    e.tag === 324 || e.tag === 325 ? { ...e, values: new Array(n).fill(0) } : e)));
  const dataAt = probe.length;
  const offsets = Array.from({ length: n }, (_, i) => dataAt + i * 4);
  const img = tiledImage(width, height, tile).map((e) =>
    e.tag === 324 ? { ...e, values: offsets } : e.tag === 325 ? { ...e, values: new Array(n).fill(4) } : e);
  const head = buildTiff([img]);
  if (head.length !== dataAt) throw new Error('layout changed');
  const bytes = new Uint8Array(dataAt + n * 4);
  bytes.set(head, 0);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(dataAt + i * 4, i, true);
  return { bytes, tiles: n };
}
