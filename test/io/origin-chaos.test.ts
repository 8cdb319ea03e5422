// A fifth of the origin's answers broken in every way the chaos origin knows
// (resets, 503, hangs, slow, a wrong Content-Range, a short range, 200 for a
// range, 416, multipart parts missing or reordered): every tile read either
// comes back with exactly the stored bytes or fails with a typed error, and at
// least 99 % come back (a transient or lying answer is asked again within the
// deadline instead of failing the tile).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import { openSlide } from '../../src/node/open-slide.js';
import { UndiciTransport } from '../../src/io/undici-transport-node.js';
import type { Slide } from '../../src/slide/slide.js';
import { CHAOS_KINDS, Origin, type ChaosKind } from '../helpers/origin.js';
import { HttpSource } from '../../src/io/http-source.js';
import { WSI_DIR } from '../helpers/fixtures.js';

const FILE = `${WSI_DIR}/aperio-jpeg.svs`;
let origin: Origin;
let transport: UndiciTransport;
let local: Slide;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.put('/s.svs', new Uint8Array(readFileSync(FILE)));
  transport = new UndiciTransport({ connections: 16 });
  local = await openSlide(FILE);
});
afterAll(async () => {
  await local?.close();
  await transport?.close();
  await origin?.stop();
});

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

describe('origin faults: a fifth of the answers broken', () => {
  it('600 random tiles: 0 corrupt, >= 99 % served, every failure a typed error', async () => {
    origin.faults = {};
    const slide = await openSlide(origin.url('/s.svs'), {
      source: { http: { transport, timeoutMs: 400, deadlineMs: 8000, retryBaseMs: 10 } },
    });
    try {
      // chaos from the first tile on (the open itself got clean answers)
      const chaos = { rate: 0.2, seed: 7, hangMs: 1500, broken: {} as Record<string, number> };
      origin.faults = { chaos };
      const grid = slide.levels.map((l, level) => ({ level, cols: l.cols, rows: l.rows }));
      let x = 12345;
      const rnd = (n: number): number => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % n;
      };
      const picks = Array.from({ length: 600 }, () => {
        const g = grid[rnd(4) === 0 ? rnd(grid.length) : 0]!;
        return { level: g.level, col: rnd(g.cols), row: rnd(g.rows) };
      });
      let served = 0;
      let corrupt = 0;
      const failures: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < picks.length) {
            const p = picks[next++]!;
            const want = await local.tile(p.level, p.col, p.row);
            try {
              const got = await slide.tile(p.level, p.col, p.row, new AbortController().signal);
              served++;
              if (!same(got.bytes, want.bytes)) corrupt++;
            } catch (e) {
              if (!isImageboxError(e)) throw e;
              failures.push(`${e.code}: ${e.message}`);
            }
          }
        }),
      );
      const broken = Object.values(chaos.broken).reduce((a, b) => a + b, 0);
      console.log(`origin chaos: ${origin.rangeRequests} range answers, ${broken} broken (${JSON.stringify(chaos.broken)}); ${served}/600 tiles served, ${corrupt} corrupt, failures ${JSON.stringify(failures)}`);
      expect(corrupt).toBe(0);
      expect(served / 600).toBeGreaterThanOrEqual(0.99);
      // the faults really happened, of most kinds
      expect(broken / origin.rangeRequests).toBeGreaterThan(0.12);
      expect(Object.keys(chaos.broken).length).toBeGreaterThanOrEqual(CHAOS_KINDS.length - 2);
      // and a good tile still comes back once the origin behaves
      origin.faults = {};
      const t = await slide.tile(0, 3, 3);
      expect(same(t.bytes, (await local.tile(0, 3, 3)).bytes)).toBe(true);
    } finally {
      origin.faults = {};
      await slide.close();
    }
  }, 60_000);
});

describe('origin faults: an origin that always lies in one way', () => {
  for (const kind of ['wrongRange', 'short', '200', '416', '503', 'reset'] as ChaosKind[]) {
    it(`${kind} on every answer: asked again within the deadline, then E_ORIGIN with the attempts; never its bytes`, async () => {
      origin.faults = {};
      const src = new HttpSource(origin.url('/s.svs'), { transport, timeoutMs: 400, deadlineMs: 5000, retryBaseMs: 5 });
      try {
        const [head] = await src.read([{ offset: 0, length: 1000 }]); // learns size and validator
        expect(head!.length).toBe(1000);
        origin.faults = { chaos: { rate: 1, kinds: [kind] } };
        origin.resetCounters();
        const err = await src.read([{ offset: 100_000, length: 5000 }]).then(() => undefined, (e: unknown) => e);
        expect(isImageboxError(err, 'E_ORIGIN')).toBe(true);
        expect((err as { details?: Record<string, unknown> }).details?.['attempts']).toBe(6);
        expect(origin.requests).toBe(6);
        origin.faults = {};
        const [ok] = await src.read([{ offset: 100_000, length: 5000 }]);
        expect(same(ok!, new Uint8Array(readFileSync(FILE)).subarray(100_000, 105_000))).toBe(true);
      } finally {
        origin.faults = {};
        await src.close?.();
      }
    });
  }
});
