import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/io/file-source.js';
import { HttpSource } from '../../src/io/http-source.js';
import { openByteSource } from '../../src/io/open-source-node.js';
import { RangeScheduler } from '../../src/io/range-scheduler.js';
import { UndiciTransport } from '../../src/io/undici-transport-node.js';
import { makeBytes, Origin } from '../helpers/origin.js';
import { expectBytes } from '../helpers/origin-bytes.js';

const DATA = makeBytes(100_000, 3);
let dir: string;
let origin: Origin;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagebox-open-'));
  await writeFile(join(dir, 'a.bin'), DATA);
  origin = await new Origin().start();
  origin.put('/a.bin', DATA);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await origin.stop();
});

describe('openByteSource', () => {
  it('opens paths and file: URLs as a bare FileSource, or behind a RangeScheduler when asked', async () => {
    for (const p of [join(dir, 'a.bin'), pathToFileURL(join(dir, 'a.bin')).href]) {
      const bare = openByteSource(p);
      expect(bare).toBeInstanceOf(FileSource);
      expectBytes((await bare.read([{ offset: 7, length: 100 }]))[0], DATA.subarray(7, 107));
      await bare.close?.();
      const s = openByteSource(p, { scheduler: {} });
      expect(s).toBeInstanceOf(RangeScheduler);
      expect((s as RangeScheduler).inner).toBeInstanceOf(FileSource);
      expect(await s.size()).toBe(DATA.length);
      expectBytes((await s.read([{ offset: 5, length: 500 }]))[0], DATA.subarray(5, 505));
      await s.close?.();
    }
  });

  it('opens http URLs as HttpSource (undici) behind a RangeScheduler', async () => {
    const transport = new UndiciTransport();
    const s = openByteSource(origin.url('/a.bin'), { http: { transport } });
    expect((s as RangeScheduler).inner).toBeInstanceOf(HttpSource);
    const out = await Promise.all([s.read([{ offset: 0, length: 10 }]), s.read([{ offset: 90_000, length: 10 }])]);
    expectBytes(out[1][0], DATA.subarray(90_000, 90_010));
    expect(origin.requests).toBe(1);
    expect(await s.size()).toBe(DATA.length);
    await transport.close();
  });

  it('can return the bare source and refuses unknown schemes', () => {
    expect(openByteSource(join(dir, 'a.bin'), { scheduler: false })).toBeInstanceOf(FileSource);
    expect(() => openByteSource('ftp://example.com/x')).toThrow(/unsupported/);
  });
});

describe('FileSource: reads on the event loop while they are fast, through the thread pool while the disk is slow', () => {
  const read300 = async (f: FileSource): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      const off = (i * 997) % 90_000;
      const [b] = await f.read([{ offset: off, length: 1000 }]);
      expectBytes(b!, DATA.subarray(off, off + 1000));
    }
  };

  it('page-cache speed (a clock that does not move): every read is synchronous', async () => {
    const f = new FileSource(join(dir, 'a.bin'), { now: () => 0 });
    try {
      await read300(f);
      expect(f.readModes()).toEqual({ sync: 300, async: 0 });
    } finally {
      await f.close();
    }
  });

  it('disk speed (every sync read takes 100 us): after three slow reads, 256 go through the pool, then sync is tried again', async () => {
    let t = 0;
    const f = new FileSource(join(dir, 'a.bin'), { now: () => (t += 0.1) }); // read twice per sync read: 100 us each
    try {
      await read300(f);
      // 3 sync (moving average 20, 36, 48.8 us: over 40) -> 256 async -> 3 sync -> 38 async
      expect(f.readModes()).toEqual({ sync: 6, async: 294 });
    } finally {
      await f.close();
    }
  });
});
