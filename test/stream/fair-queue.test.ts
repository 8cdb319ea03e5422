// Decode work is shared round-robin between connections: a greedy one cannot starve another.
import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/stream/fair-queue.js';

describe('FairQueue', () => {
  it('takes jobs from owners in turn, never more than its concurrency at once', async () => {
    const q = new FairQueue(2);
    const greedy = {};
    const modest = {};
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const job = (name: string) => () => {
      running++;
      most = Math.max(most, running);
      order.push(name);
      return new Promise<void>((r) => setTimeout(() => {
        running--;
        r();
      }, 5));
    };
    const all: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) all.push(q.run(greedy, job(`g${i}`)));
    for (let i = 0; i < 3; i++) all.push(q.run(modest, job(`m${i}`)));
    await Promise.all(all);
    expect(most).toBe(2);
    // the modest owner's three jobs are among the first few, not after the greedy twenty
    const lastModest = order.lastIndexOf('m2');
    expect(lastModest).toBeLessThan(8);
  });
  it('drop() rejects an owner\'s queued jobs and bounds what one owner may queue', async () => {
    const q = new FairQueue(1, 3);
    const a = {};
    const slow = () => new Promise<void>((r) => setTimeout(r, 20));
    const first = q.run(a, slow);
    const queued = [q.run(a, slow), q.run(a, slow), q.run(a, slow)];
    await expect(q.run(a, slow)).rejects.toMatchObject({ code: 'E_BUSY' });
    q.drop(a);
    for (const p of queued) await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
    await first;
  });

  it('a job no longer wanted when its turn comes is skipped (E_ABORTED), never run; the others run', async () => {
    const q = new FairQueue(1);
    const a = {};
    const ran: string[] = [];
    let wantB = true;
    const slow = (name: string) => () => {
      ran.push(name);
      return new Promise<void>((r) => setTimeout(r, 10));
    };
    const first = q.run(a, slow('a'));
    const b = q.run(a, slow('b'), () => wantB);
    const c = q.run(a, slow('c'), () => true);
    wantB = false; // it left the view while queued
    await first;
    await expect(b).rejects.toMatchObject({ code: 'E_ABORTED' });
    await c;
    expect(ran).toEqual(['a', 'c']);
    expect([q.started, q.skipped]).toEqual([2, 1]);
  });
});

