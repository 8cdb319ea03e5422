// Several sources seen as one: part i's bytes sit at [base_i, base_i + size_i)
// of one address space (bases are the running sum of the sizes). A slide made
// of several files (DICOM WSI: one instance per level) then has one ByteSource,
// so the slide model, the caches and the server see what they see for a TIFF.
// Each part keeps its own scheduler; a read is split by part and each part's
// ranges go out in one call (one coalesced request per file). Isomorphic.
import { ImageboxError } from '../errors.js';
import { newStats, type ByteRange, type ByteSource, type IoStats } from './byte-source.js';

export interface JoinedPart {
  source: ByteSource;
  /** The part's size (already known: it was read to find out what it is). */
  size: number;
}

export class JoinedSource implements ByteSource {
  readonly id: string;
  private readonly bases: number[] = [];
  private readonly total: number;

  constructor(private readonly parts: readonly JoinedPart[]) {
    if (parts.length === 0) throw new ImageboxError('E_INTERNAL', 'a joined source needs at least one part');
    let base = 0;
    for (const p of parts) {
      this.bases.push(base);
      base += p.size;
    }
    this.total = base;
    this.id = parts.length === 1 ? parts[0]!.source.id : `${parts[0]!.source.id} (+${parts.length - 1} more)`;
  }

  /** Where part i starts in the joined address space. */
  base(i: number): number {
    return this.bases[i]!;
  }

  get partCount(): number {
    return this.parts.length;
  }

  async size(): Promise<number> {
    return this.total;
  }

  private partAt(offset: number): number {
    let lo = 0;
    let hi = this.bases.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.bases[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async read(ranges: ByteRange[], signal?: AbortSignal): Promise<Uint8Array[]> {
    // pieces per part, remembering which output range each piece belongs to
    const perPart = new Map<number, { ranges: ByteRange[]; into: Array<{ out: number; at: number }> }>();
    const outs = ranges.map((r) => {
      if (r.offset < 0 || r.length < 0 || r.offset + r.length > this.total) {
        throw new ImageboxError('E_TRUNCATED', `read ${r.offset}+${r.length} past the end of the data (${this.total} bytes)`);
      }
      return new Uint8Array(r.length);
    });
    const direct: Array<Uint8Array | undefined> = ranges.map(() => undefined);
    ranges.forEach((r, out) => {
      let offset = r.offset;
      let left = r.length;
      while (left > 0) {
        const i = this.partAt(offset);
        const local = offset - this.bases[i]!;
        const n = Math.min(left, this.parts[i]!.size - local);
        let p = perPart.get(i);
        if (!p) perPart.set(i, (p = { ranges: [], into: [] }));
        p.ranges.push({ offset: local, length: n });
        p.into.push({ out, at: offset - r.offset });
        offset += n;
        left -= n;
      }
    });
    await Promise.all(
      [...perPart].map(async ([i, p]) => {
        const got = await this.parts[i]!.source.read(p.ranges, signal);
        got.forEach((bytes, k) => {
          const { out, at } = p.into[k]!;
          // a range inside one part is handed out as the part's own bytes (no copy)
          if (at === 0 && bytes.length === ranges[out]!.length) direct[out] = bytes;
          else outs[out]!.set(bytes, at);
        });
      }),
    );
    return outs.map((o, k) => direct[k] ?? o);
  }

  async readHead(length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const [head] = await this.read([{ offset: 0, length: Math.min(length, this.total) }], signal);
    return head!;
  }

  /** Every part's validator, joined: one changed file changes the slide's. */
  validator(): string | undefined {
    const vs = this.parts.map((p) => p.source.validator?.());
    return vs.every((v) => v === undefined) ? undefined : vs.map((v) => v ?? '').join('|');
  }

  lastModified(): Date | undefined {
    let latest: Date | undefined;
    for (const p of this.parts) {
      const d = p.source.lastModified?.();
      if (d && (!latest || d > latest)) latest = d;
    }
    return latest;
  }

  async revalidate(signal?: AbortSignal): Promise<boolean> {
    const changed = await Promise.all(this.parts.map((p) => p.source.revalidate?.(signal) ?? Promise.resolve(false)));
    return changed.some(Boolean);
  }

  stats(): IoStats {
    const sum = newStats();
    for (const p of this.parts) {
      const s = p.source.stats?.();
      if (!s) continue;
      sum.requests += s.requests;
      sum.bytesFetched += s.bytesFetched;
      sum.bytesRequested += s.bytesRequested;
    }
    return sum;
  }

  onChange(listener: (error: ImageboxError) => void): () => void {
    const offs = this.parts.map((p) => p.source.onChange?.(listener));
    return () => offs.forEach((off) => off?.());
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.source.close?.()));
  }
}
