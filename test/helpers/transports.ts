// The ways a test reaches a fixture: a local file, and (added with the HTTP
// source) a real range-capable HTTP origin on 127.0.0.1.
import type { ByteSource } from '../../src/io/byte-source.js';
import { FileSource } from '../../src/io/file-source.js';
import { fixturePath } from './fixtures.js';

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
  source: (file) => new FileSource(fixturePath(file)),
};

export const transports: Transport[] = [fileTransport];
