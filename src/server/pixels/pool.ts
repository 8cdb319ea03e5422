// A pool of pixel worker threads (one per core by default) with a bounded
// queue: when the queue is full, run() fails fast with 503 so the process
// sheds load instead of growing memory. A job whose caller aborts is dropped
// from the queue, or cancelled in its worker.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ImageboxError, type ErrorCode } from '../../errors.js';
import { newStats, type IoStats } from '../../io/byte-source.js';
import { HttpError } from '../http-error.js';
import type { PixelJob, JobResult } from './job.js';
import type { FromWorker, ToWorker } from './worker.js';

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
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Pending>;
  /** The worker's origin I/O so far (as of its last answer). */
  io: IoStats;
}

export interface PoolStats {
  workers: number;
  running: number;
  queued: number;
  completed: number;
  failed: number;
  rejected: number;
  /** Origin I/O of the workers' own slide handles. */
  io: IoStats;
}

function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  // from src/ (vitest, tsx) the compiled worker lives in dist/
  return here.endsWith('.ts') ? new URL('../../../dist/server/pixels/worker.js', here) : new URL('./worker.js', here);
}

export class PixelPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly perWorker: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly counters = { completed: 0, failed: 0, rejected: 0 };
  /** I/O of workers that exited. */
  private readonly deadIo = newStats();
  private startFailures = 0;
  private startError: string | undefined;

  constructor(private readonly options: PoolOptions = {}) {
    this.perWorker = Math.max(1, options.perWorker ?? 2);
    this.maxQueue = Math.max(0, options.maxQueue ?? 256);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const n = Math.max(1, options.size ?? availableParallelism());
    for (let i = 0; i < n; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.workerUrl ?? defaultWorkerUrl(), {
      workerData: { backendUrl: this.options.backendUrl },
    });
    const slot: Slot = { worker, ready: false, jobs: new Map(), io: newStats() };
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
    this.settle(p);
    if (m.type === 'done') {
      this.counters.completed++;
      slot.io = m.io;
      p.resolve({ body: m.body, width: m.width, height: m.height });
    } else {
      this.counters.failed++;
      p.reject(new ImageboxError(m.code as ErrorCode, m.message));
    }
    this.pump();
  }

  private onExit(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.deadIo.requests += slot.io.requests;
    this.deadIo.bytesFetched += slot.io.bytesFetched;
    this.deadIo.bytesRequested += slot.io.bytesRequested;
    for (const p of slot.jobs.values()) {
      this.settle(p);
      p.reject(new ImageboxError('E_INTERNAL', `pixel worker failed: ${e.message}`));
    }
    slot.jobs.clear();
    if (!slot.ready) this.startFailures++;
    if (this.closed) return;
    if (this.startFailures < 3) {
      this.slots.push(this.spawn());
    } else if (this.slots.length === 0) {
      // the workers cannot start (missing build, broken backend): fail loudly, do not spin
      const why = this.startError ?? e.message;
      for (const p of this.queue.splice(0)) {
        this.settle(p);
        p.reject(new ImageboxError('E_INTERNAL', `pixel workers cannot start: ${why}`));
      }
    }
  }

  private settle(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.signal?.removeEventListener('abort', p.onAbort);
  }

  /** Render and encode in a worker. Rejects with 503 when the queue is full, E_ABORTED when the signal fires. */
  run(job: PixelJob, signal?: AbortSignal): Promise<JobResult> {
    if (this.closed) return Promise.reject(new HttpError(503, 'E_INTERNAL', 'server is shutting down'));
    if (this.slots.length === 0) return Promise.reject(new ImageboxError('E_INTERNAL', `pixel workers cannot start: ${this.startError ?? 'unknown'}`));
    if (signal?.aborted) return Promise.reject(new ImageboxError('E_ABORTED', 'aborted'));
    if (this.queue.length >= this.maxQueue && !this.freeSlot()) {
      this.counters.rejected++;
      return Promise.reject(new HttpError(503, 'E_INTERNAL', 'server busy: pixel queue is full, retry later'));
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
        onAbort: () => this.cancel(p, new ImageboxError('E_ABORTED', 'aborted')),
      };
      signal?.addEventListener('abort', p.onAbort, { once: true });
      p.timer = setTimeout(() => this.cancel(p, new ImageboxError('E_TIMEOUT', `pixel job took over ${this.timeoutMs} ms`)), this.timeoutMs);
      p.timer.unref();
      this.queue.push(p);
      this.pump();
    });
  }

  private cancel(p: Pending, e: ImageboxError): void {
    const qi = this.queue.indexOf(p);
    if (qi >= 0) this.queue.splice(qi, 1);
    if (p.slot && p.slot.jobs.delete(p.id)) {
      p.slot.worker.postMessage({ type: 'cancel', id: p.id } satisfies ToWorker);
    }
    this.settle(p);
    p.reject(e);
    this.pump();
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.ready && s.jobs.size < this.perWorker && (!best || s.jobs.size < best.jobs.size)) best = s;
    return best;
  }

  private pump(): void {
    while (this.queue.length) {
      const slot = this.freeSlot();
      if (!slot) return;
      const p = this.queue.shift()!;
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
      workers: this.slots.length,
      running: this.slots.reduce((n, s) => n + s.jobs.size, 0),
      queued: this.queue.length,
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.queue]) this.cancel(p, new HttpError(503, 'E_INTERNAL', 'server is shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
