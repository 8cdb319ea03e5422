// A ByteSource over bytes already in memory (a whole small file, a Blob's
// contents, a test buffer). Isomorphic.
import { ImageboxError } from '../errors.js';
import { newStats, type ByteRange, type ByteSource, type IoStats } from './byte-source.js';

export class MemorySource implements ByteSource {
  private readonly counters: IoStats = newStats();

  constructor(
    private readonly bytes: Uint8Array,
    readonly id: string = 'memory',
  ) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  stats(): IoStats {
    return { ...this.counters };
  }

  async read(ranges: ByteRange[]): Promise<Uint8Array[]> {
    this.counters.requests++;
    return ranges.map(({ offset, length }) => {
      if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
        throw new ImageboxError('E_TRUNCATED', `read ${offset}+${length} past end of data (${this.bytes.length} bytes)`);
      }
      this.counters.bytesFetched += length;
      this.counters.bytesRequested += length;
      return this.bytes.subarray(offset, offset + length);
    });
  }
}
