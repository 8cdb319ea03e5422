// The byte spans fetched while parsing a TIFF's directories: the speculative head,
// windows at IFD offsets, out-of-line values. Lives only for the duration of open.
import type { ByteRange } from '../../io/byte-source.js';

export class Spans {
  private readonly list: { offset: number; bytes: Uint8Array }[] = [];

  add(offset: number, bytes: Uint8Array): void {
    this.list.push({ offset, bytes });
  }

  /** The bytes [offset, offset+length) if one span holds them all. */
  get(offset: number, length: number): Uint8Array | undefined {
    for (const s of this.list) {
      if (offset >= s.offset && offset + length <= s.offset + s.bytes.length) {
        return s.bytes.subarray(offset - s.offset, offset - s.offset + length);
      }
    }
    return undefined;
  }

  has(offset: number, length: number): boolean {
    return this.get(offset, length) !== undefined;
  }

  /** Bytes held, for accounting. */
  get bytes(): number {
    return this.list.reduce((n, s) => n + s.bytes.length, 0);
  }

  missing(ranges: ByteRange[]): ByteRange[] {
    return ranges.filter((r) => !this.has(r.offset, r.length));
  }
}
