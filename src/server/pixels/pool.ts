// A pool of pixel worker threads (one per core by default) with a bounded
// queue: when the queue is full, run() fails fast with 503 so the process
// sheds load instead of growing memory.
//
// A job occupies its worker's slot until the worker says it is done, whatever
// happened to its caller: a caller that aborts, or whose job times out, is
// answered at once, but a WASM kernel cannot be interrupted, so the slot stays
// taken (no worker ever runs more than `perWorker` jobs). A worker that has not
// finished a timed-out job within `stuckGraceMs` is terminated and replaced;
// the other jobs it held are run again elsewhere (jobs are idempotent reads).
// A worker whose memory grew past `recycleBytes` is replaced once it is idle.
//
// One dead origin cannot tie up the pool: the jobs of one remote origin hold
// at most half the slots (the others stay for local slides and other origins),
// and once the origin's circuit breaker (src/io/circuit-breaker.ts, fed by the
// workers' outcomes too) is open its jobs fail at once, taking no slot.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ImageboxError, type ErrorCode } from '../../errors.js';
import { newStats, type IoStats } from '../../io/byte-source.js';
import type { PixelJob, JobResult } from './job.js';
import type { FromWorker, ToWorker, WorkerMemory } from './worker.js';
import { sharedBreakers, type CircuitBreakers } from '../../io/circuit-breaker.js';

export interface PoolOptions {
  /** Worker threads (default: one per core). */
  size?: number;
  /** Jobs running at once in one worker (overlaps origin I/O with pixels; default 2). */
  perWorker?: number;
  /** Jobs waiting for a worker before 503 (default 256). */
  maxQueue?: number;
  /** The worker script (default: dist/server/pixels/worker.js next to this module, built by tsc). */
  workerUrl?: URL;
  /** Module exporting createBackend() (default: the worker's built-in default backend). */
  backendUrl?: string;
  /** Time limit of one job (default 60 s) -> 504. */
  timeoutMs?: number;
  /** After a timeout, how long the worker may take to finish the job before it is replaced (default 5 s). */
  stuckGraceMs?: number;
  /** A worker whose heap + kernel memory exceeds this after a job is replaced when idle (default 768 MiB). */
  recycleBytes?: number;
  /** JS heap limit of one worker (MiB; default 1024): a runaway job kills its worker, not the process. */
  heapLimitMb?: number;
  /** Slots the jobs of one remote origin may hold at once (default: half of all, at least 1). */
  maxPerOrigin?: number;
  /** The breakers the pool consults and feeds (default: this thread's, shared with its HttpSources). */
  breakers?: CircuitBreakers;
}

/** scheme://host:port of a job's remote slide, if it has one. */
function jobOrigin(job: PixelJob): string | undefined {
  if (job.kind === 'decode' || !/^https?:\/\//i.test(job.spec.location)) return undefined;
  try {
    return new URL(job.spec.location).origin;
  } catch {
    return undefined;
  }
}

interface Pending {
  id: number;
  job: PixelJob;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  timer: NodeJS.Timeout | undefined;
  slot: Slot | undefined;
  /** The caller has been answered (aborted / timed out); the worker may still be running it. */
  settled: boolean;
  /** Runs of this job that ended with their worker (re-queued at most once). */
  lostWorkers: number;
  /** scheme://host:port of its remote slide (jobOrigin, worked out once at run()). */
  origin: string | undefined;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Pending>;
  /** The worker's origin I/O so far (as of its last answer). */
  io: IoStats;
  memory: WorkerMemory | undefined;
  /** Replaced (stuck, or too big): takes no new jobs, terminated when idle. */
  retiring: boolean;
  stuckTimer: NodeJS.Timeout | undefined;
}

export interface PoolStats {
  workers: number;
  running: number;
  queued: number;
  completed: number;
  failed: number;
  rejected: number;
  /** Workers terminated because a job would not finish. */
  stuck: number;
  /** Workers replaced because their memory grew past recycleBytes. */
  recycled: number;
  /** Origin I/O of the workers' own slide handles. */
  io: IoStats;
  /** Per worker: heap and kernel memory after its last job. */
  memory: WorkerMemory[];
}

function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  // from src/ (vitest, tsx) the compiled worker lives in dist/
  return here.endsWith('.ts') ? new URL('../../../dist/server/pixels/worker.js', here) : new URL('./worker.js', here);
}

const MiB = 1024 * 1024;

export class PixelPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly size: number;
  private readonly perWorker: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly stuckGraceMs: number;
  private readonly recycleBytes: number;
  private readonly maxPerOrigin: number | undefined;
  private readonly breakers: CircuitBreakers;
  private readonly counters = { completed: 0, failed: 0, rejected: 0, stuck: 0, recycled: 0 };
  /** I/O of workers that exited. */
  private readonly deadIo = newStats();
  private startFailures = 0;
  private startError: string | undefined;

  constructor(private readonly options: PoolOptions = {}) {
    this.perWorker = Math.max(1, options.perWorker ?? 2);
    this.maxPerOrigin = options.maxPerOrigin === undefined ? undefined : Math.max(1, options.maxPerOrigin);
    this.breakers = options.breakers ?? sharedBreakers;
    this.maxQueue = Math.max(0, options.maxQueue ?? 256);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.stuckGraceMs = options.stuckGraceMs ?? 5000;
    this.recycleBytes = options.recycleBytes ?? 768 * MiB;
    this.size = Math.max(1, options.size ?? availableParallelism());
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const heap = this.options.heapLimitMb ?? 1024;
    const worker = new Worker(this.options.workerUrl ?? defaultWorkerUrl(), {
      workerData: { backendUrl: this.options.backendUrl },
      resourceLimits: { maxOldGenerationSizeMb: heap, maxYoungGenerationSizeMb: Math.min(64, Math.max(16, heap >> 4)) },
    });
    const slot: Slot = { worker, ready: false, jobs: new Map(), io: newStats(), memory: undefined, retiring: false, stuckTimer: undefined };
    worker.unref();
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (e) => this.onExit(slot, e));
    worker.on('exit', (code) => this.onExit(slot, new Error(`pixel worker exited with code ${code}`)));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'failed' && m.id === -1) {
      this.startError = m.message;
      return;
    }
    if (m.type === 'ready') {
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
      return;
    }
    const p = slot.jobs.get(m.id);
    if (!p) return;
    slot.jobs.delete(m.id);
    slot.io = m.io;
    slot.memory = m.memory;
    if (m.type === 'done') this.counters.completed++;
    else this.counters.failed++;
    const origin = p.origin;
    if (origin) this.breakers.for(origin).record(m.type === 'done' || m.transport !== true);
    if (!p.settled) {
      this.settle(p);
      if (m.type === 'done') p.resolve({ body: m.body, width: m.width, height: m.height });
      else p.reject(new ImageboxError(m.code as ErrorCode, m.message));
    }
    if (slot.retiring && slot.jobs.size === 0) this.terminate(slot);
    else if (!slot.retiring && m.memory.heapBytes + m.memory.kernelBytes > this.recycleBytes) this.retire(slot, 'recycled');
    this.pump();
  }

  /** Take a worker out of service: a replacement starts now, the old one goes when its jobs are done. */
  private retire(slot: Slot, why: 'recycled' | 'stuck'): void {
    if (slot.retiring) return;
    slot.retiring = true;
    this.counters[why]++;
    if (!this.closed) this.slots.push(this.spawn());
    if (slot.jobs.size === 0) this.terminate(slot);
  }

  private terminate(slot: Slot): void {
    if (slot.stuckTimer) clearTimeout(slot.stuckTimer);
    void slot.worker.terminate();
  }

  private onExit(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.stuckTimer) clearTimeout(slot.stuckTimer);
    this.deadIo.requests += slot.io.requests;
    this.deadIo.bytesFetched += slot.io.bytesFetched;
    this.deadIo.bytesRequested += slot.io.bytesRequested;
    const orphans = [...slot.jobs.values()];
    slot.jobs.clear();
    for (const p of orphans) {
      if (p.settled) continue;
      p.slot = undefined;
      p.lostWorkers++;
      if (!this.closed && p.lostWorkers <= 1) {
        this.queue.unshift(p); // idempotent: run it again on a healthy worker
      } else {
        this.settle(p);
        p.reject(new ImageboxError('E_INTERNAL', `pixel worker failed: ${e.message}`));
      }
    }
    if (!slot.ready) this.startFailures++;
    if (this.closed) return;
    if (!slot.retiring) {
      if (this.startFailures < 3) this.slots.push(this.spawn());
      else if (this.slots.length === 0) {
        // the workers cannot start (missing build, broken backend): fail loudly, do not spin
        const why = this.startError ?? e.message;
        for (const p of this.queue.splice(0)) {
          this.settle(p);
          p.reject(new ImageboxError('E_INTERNAL', `pixel workers cannot start: ${why}`));
        }
      }
    }
    this.pump();
  }

  private settle(p: Pending): void {
    p.settled = true;
    if (p.timer) clearTimeout(p.timer);
    p.signal?.removeEventListener('abort', p.onAbort);
  }

  /** Render and encode in a worker. Rejects with 503 when the queue is full, E_ABORTED when the signal fires. */
  run(job: PixelJob, signal?: AbortSignal): Promise<JobResult> {
    if (this.closed) return Promise.reject(new ImageboxError('E_BUSY', 'server is shutting down'));
    if (this.slots.length === 0) return Promise.reject(new ImageboxError('E_INTERNAL', `pixel workers cannot start: ${this.startError ?? 'unknown'}`));
    if (signal?.aborted) return Promise.reject(new ImageboxError('E_ABORTED', 'aborted'));
    const origin = jobOrigin(job);
    if (origin && this.breakers.for(origin).isOpen()) {
      this.counters.rejected++;
      return Promise.reject(new ImageboxError('E_ORIGIN', 'the origin of this slide is not answering (circuit open)', { circuit: 'open' }));
    }
    if (this.queue.length >= this.maxQueue && !this.freeSlot()) {
      this.counters.rejected++;
      return Promise.reject(new ImageboxError('E_BUSY', 'server busy: pixel queue is full, retry later'));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const p: Pending = {
        id: this.nextId++,
        job,
        resolve,
        reject,
        signal,
        timer: undefined,
        slot: undefined,
        settled: false,
        lostWorkers: 0,
        origin,
        onAbort: () => this.cancel(p, new ImageboxError('E_ABORTED', 'aborted')),
      };
      signal?.addEventListener('abort', p.onAbort, { once: true });
      p.timer = setTimeout(() => this.cancel(p, new ImageboxError('E_TIMEOUT', `pixel job took over ${this.timeoutMs} ms`), true), this.timeoutMs);
      p.timer.unref();
      this.queue.push(p);
      this.pump();
    });
  }

  /** Answer the caller now; a running job keeps its slot until the worker is done with it. */
  private cancel(p: Pending, e: ImageboxError, timedOut = false): void {
    if (p.settled) return;
    const qi = this.queue.indexOf(p);
    if (qi >= 0) this.queue.splice(qi, 1);
    this.settle(p);
    p.reject(e);
    const slot = p.slot;
    if (slot && slot.jobs.has(p.id)) {
      slot.worker.postMessage({ type: 'cancel', id: p.id } satisfies ToWorker);
      if (timedOut && !slot.stuckTimer) {
        slot.stuckTimer = setTimeout(() => {
          slot.stuckTimer = undefined;
          if (slot.jobs.has(p.id)) {
            // still not done: a kernel that never returns; the thread cannot be interrupted, only replaced
            this.retire(slot, 'stuck');
            this.terminate(slot);
          }
        }, this.stuckGraceMs);
        slot.stuckTimer.unref();
      }
    }
    this.pump();
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.ready && !s.retiring && s.jobs.size < this.perWorker && (!best || s.jobs.size < best.jobs.size)) best = s;
    return best;
  }

  private pump(): void {
    while (this.queue.length) {
      const slot = this.freeSlot();
      if (!slot) return;
      // the first queued job whose origin holds fewer than its share of the slots
      const running = new Map<string, number>();
      for (const s of this.slots) for (const j of s.jobs.values()) {
        const o = j.origin;
        if (o) running.set(o, (running.get(o) ?? 0) + 1);
      }
      const cap = this.maxPerOrigin ?? Math.max(1, Math.floor((this.slots.length * this.perWorker) / 2));
      const i = this.queue.findIndex((q) => {
        const o = q.origin;
        return !o || (running.get(o) ?? 0) < cap;
      });
      if (i < 0) return;
      const p = this.queue.splice(i, 1)[0]!;
      p.slot = slot;
      slot.jobs.set(p.id, p);
      slot.worker.postMessage({ type: 'job', id: p.id, job: p.job } satisfies ToWorker);
    }
  }

  stats(): PoolStats {
    const io = { ...this.deadIo };
    for (const s of this.slots) {
      io.requests += s.io.requests;
      io.bytesFetched += s.io.bytesFetched;
      io.bytesRequested += s.io.bytesRequested;
    }
    return {
      io,
      workers: this.slots.filter((s) => !s.retiring).length,
      running: this.slots.reduce((n, s) => n + s.jobs.size, 0),
      queued: this.queue.length,
      memory: this.slots.flatMap((s) => (s.memory ? [s.memory] : [])),
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.queue]) this.cancel(p, new ImageboxError('E_BUSY', 'server is shutting down'));
    for (const s of this.slots) if (s.stuckTimer) clearTimeout(s.stuckTimer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
