// Work shared round-robin between owners (stream connections): at most
// `concurrency` jobs run at once, and the next job to start is taken from the
// next owner in turn, so a greedy viewer with a thousand queued decodes cannot
// starve another one with three. Each owner's queue is bounded; an owner that
// goes away takes its queued jobs with it. Isomorphic.
import { ImageboxError } from '../errors.js';

interface Job<T> {
  run: () => Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
  /** Asked when the job's turn comes: false skips it (E_ABORTED) without running. */
  wanted?: () => boolean;
}

export class FairQueue {
  private readonly owners = new Map<object, Job<unknown>[]>();
  /** Round-robin order of owners with queued jobs. */
  private order: object[] = [];
  private next = 0;
  private active = 0;
  started = 0;
  /** Jobs skipped at their turn because they were no longer wanted. */
  skipped = 0;

  constructor(
    readonly concurrency: number,
    /** Jobs an owner may have queued (not running) at once. */
    readonly maxQueuedPerOwner = 256,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    let n = 0;
    for (const q of this.owners.values()) n += q.length;
    return n;
  }

  queuedFor(owner: object): number {
    return this.owners.get(owner)?.length ?? 0;
  }

  /**
   * Queue `run` for `owner`. `wanted`, when given, is asked when its turn comes:
   * a job no longer wanted (its tile left the view) is skipped, rejecting with
   * E_ABORTED, so a fast pan does not leave the workers decoding what nobody sees.
   */
  run<T>(owner: object, run: () => Promise<T>, wanted?: () => boolean): Promise<T> {
    let q = this.owners.get(owner);
    if (!q) {
      q = [];
      this.owners.set(owner, q);
      this.order.push(owner);
    }
    if (q.length >= this.maxQueuedPerOwner) return Promise.reject(new ImageboxError('E_BUSY', 'too much queued work on this connection'));
    const queue = q;
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve, reject, ...(wanted ? { wanted } : {}) } as Job<unknown>);
      this.pump();
    });
  }

  /** Drop an owner's queued jobs (they reject with E_ABORTED); running ones finish. */
  drop(owner: object): void {
    const q = this.owners.get(owner);
    if (!q) return;
    this.owners.delete(owner);
    this.order = this.order.filter((o) => o !== owner);
    for (const j of q) j.reject(new ImageboxError('E_ABORTED', 'the connection went away'));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.order.length > 0) {
      if (this.next >= this.order.length) this.next = 0;
      const owner = this.order[this.next]!;
      const q = this.owners.get(owner)!;
      const job = q.shift()!;
      if (q.length === 0) {
        this.owners.delete(owner);
        this.order.splice(this.next, 1);
      } else {
        this.next++;
      }
      if (job.wanted && !job.wanted()) {
        this.skipped++;
        job.reject(new ImageboxError('E_ABORTED', 'no longer wanted'));
        continue;
      }
      this.active++;
      this.started++;
      job.run().then(job.resolve, job.reject).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }
}
