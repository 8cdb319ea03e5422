// The ways a test reaches a fixture: a local file, and a real HTTP origin on
// 127.0.0.1 (test/helpers/origin.ts) - one that does multi-range requests and
// one that answers a multi-range request with its first range only.
import { readFileSync } from 'node:fs';
import type { ByteSource } from '../../src/io/byte-source.js';
import { FileSource } from '../../src/io/file-source.js';
import { openByteSource } from '../../src/io/open-source-node.js';
import { fixturePath } from './fixtures.js';
import { Origin, startOrigin, type Faults } from './origin.js';

export interface Transport {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  source(file: string): ByteSource;
}

export const fileTransport: Transport = {
  name: 'file',
  async start() {},
  async stop() {},
  source: (file) => openByteSource(fixturePath(file)),
};

/** A fixture served by a real HTTP origin; files are loaded into it on first use. */
export class HttpFixtures implements Transport {
  origin: Origin | undefined;

  constructor(
    readonly name: string,
    private readonly faults: Faults = {},
  ) {}

  async start(): Promise<void> {
    this.origin = await startOrigin();
    this.origin.faults = this.faults;
  }

  async stop(): Promise<void> {
    await this.origin?.stop();
    this.origin = undefined;
  }

  url(file: string): string {
    const o = this.origin!;
    const path = `/${file}`;
    if (!o.files.has(path)) o.put(path, readFileSync(fixturePath(file)));
    return o.url(path);
  }

  source(file: string): ByteSource {
    return openByteSource(this.url(file));
  }
}

export const transports: Transport[] = [
  fileTransport,
  new HttpFixtures('http (multi-range origin)'),
  new HttpFixtures('http (origin without multi-range)', { noMultiRange: 'first' }),
];

export { FileSource };
