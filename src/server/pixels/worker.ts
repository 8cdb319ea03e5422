// A pixel worker thread: opens slides itself from their SourceSpec (its own
// byte sources and caches, in a bounded SlideCache), runs jobs through the
// backend, answers with the encoded bytes (transferred, not copied) and its
// memory. A job pinned to a version of a slide (spec.version) never runs on
// other bytes: a slide opened with another validator fails E_SOURCE_CHANGED,
// and the older versions of that location are dropped. Jobs can be cancelled.
import { setMaxListeners } from 'node:events';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { ImageboxError, asImageboxError } from '../../errors.js';
import { newStats, type IoStats } from '../../io/byte-source.js';
import { kernels } from '../../codecs/kernels-node.js';
import type { Slide } from '../../slide/slide.js';
import { openSpec } from '../open-spec.js';
import type { SourceSpec } from '../registry.js';
import { SlideCache } from '../slide-cache.js';
import type { CreateBackend, PixelBackend } from './backend.js';
import { createBackend as createDefault } from './default-backend.js';
import { runDecodeJob, runJob, type PixelJob } from './job.js';

export interface WorkerMemory {
  /** V8 heap of this thread (used) plus array buffers held outside it. */
  heapBytes: number;
  /** Linear memory of the WASM kernels instance now (after a renewal). */
  kernelBytes: number;
  /** Linear memory the kernels had grown to by the end of the job (before any renewal). */
  kernelPeakBytes: number;
}

export type ToWorker = { type: 'job'; id: number; job: PixelJob } | { type: 'cancel'; id: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; body: Uint8Array; width: number; height: number; io: IoStats; memory: WorkerMemory }
  | { type: 'failed'; id: number; code: string; message: string; io: IoStats; memory: WorkerMemory; /** The origin did not answer (or its breaker here is open). */ transport?: boolean };

interface WorkerData {
  backendUrl?: string;
  maxSlides?: number;
}

const data = (workerData ?? {}) as WorkerData;
const port = parentPort!;
const running = new Map<number, AbortController>();
/** Kernel memory above this after a job: the instance is renewed (linear memory never shrinks). */
const KERNEL_RENEW_BYTES = 96 * 1024 * 1024;

/** I/O of this worker's closed slides (open ones are summed live). */
const retired = newStats();
const cache = new SlideCache(data.maxSlides ?? 16, (slide) => {
  const st = slide.stats();
  if (!st) return;
  retired.requests += st.requests;
  retired.bytesFetched += st.bytesFetched;
  retired.bytesRequested += st.bytesRequested;
});
/** location -> the cache key of the version of it in use. */
const versions = new Map<string, string>();

function ioStats(): IoStats {
  const sum = { ...retired };
  for (const s of cache.openSlides()) {
    const st = s.stats();
    if (!st) continue;
    sum.requests += st.requests;
    sum.bytesFetched += st.bytesFetched;
    sum.bytesRequested += st.bytesRequested;
  }
  return sum;
}

async function memory(): Promise<WorkerMemory> {
  const h = getHeapStatistics();
  let kernelBytes = 0;
  let kernelPeakBytes = 0;
  try {
    const k = await kernels();
    kernelBytes = kernelPeakBytes = k.exports.memory.buffer.byteLength;
    if (kernelBytes > KERNEL_RENEW_BYTES) {
      k.renew(); // the big old memory goes with the old instance
      kernelBytes = k.exports.memory.buffer.byteLength;
    }
  } catch {
    /* a test backend without kernels */
  }
  return { heapBytes: h.used_heap_size + h.external_memory, kernelBytes, kernelPeakBytes };
}

async function withSlide<T>(spec: SourceSpec, fn: (slide: Slide) => Promise<T>): Promise<T> {
  const key = JSON.stringify(spec);
  const prev = versions.get(spec.location);
  if (prev !== undefined && prev !== key && spec.version !== undefined) cache.invalidate(prev); // a newer version arrived
  versions.set(spec.location, key);
  const lease = await cache.acquire(key, async () => {
    const slide = await openSpec(spec);
    const v = slide.source.validator?.();
    if (spec.version !== undefined && v !== spec.version) {
      await slide.close();
      throw new ImageboxError('E_SOURCE_CHANGED', 'the slide changed between planning and rendering');
    }
    slide.source.onChange?.(() => cache.invalidate(key, slide));
    return slide;
  });
  try {
    return await fn(lease.slide);
  } finally {
    lease.release();
  }
}

async function main(): Promise<void> {
  let backend: PixelBackend;
  if (data.backendUrl) {
    const mod = (await import(data.backendUrl)) as { createBackend: CreateBackend };
    backend = await mod.createBackend();
  } else {
    backend = await createDefault();
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'cancel') {
      running.get(m.id)?.abort();
      return;
    }
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // one signal is shared by every tile read of a region
    running.set(m.id, ac);
    const job = m.job;
    (job.kind === 'decode' ? runDecodeJob(backend, job) : withSlide(job.spec, (slide) => runJob(backend, slide, job, ac.signal)))
      .then(
        async (r) => {
          const body = r.body.byteOffset === 0 && r.body.byteLength === r.body.buffer.byteLength ? r.body : r.body.slice();
          const msg: FromWorker = { type: 'done', id: m.id, body, width: r.width, height: r.height, io: ioStats(), memory: await memory() };
          port.postMessage(msg, [body.buffer as ArrayBuffer]);
        },
        async (e: unknown) => {
          const err = asImageboxError(e);
          const transport = err.details?.['transport'] === true || err.details?.['circuit'] === 'open';
          const msg: FromWorker = { type: 'failed', id: m.id, code: err.code, message: err.message, io: ioStats(), memory: await memory(), ...(transport ? { transport } : {}) };
          port.postMessage(msg);
        },
      )
      .finally(() => running.delete(m.id));
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

main().catch((e: unknown) => {
  const err = asImageboxError(e);
  port.postMessage({ type: 'failed', id: -1, code: err.code, message: `worker start-up: ${err.message}`, io: newStats(), memory: { heapBytes: 0, kernelBytes: 0, kernelPeakBytes: 0 } } satisfies FromWorker);
  process.exit(1);
});
