// A pixel worker thread: opens slides itself from their SourceSpec (its own
// byte sources and caches), runs jobs through the backend, answers with the
// encoded bytes (transferred, not copied). Jobs can be cancelled.
import { setMaxListeners } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { asImageboxError } from '../../errors.js';
import { newStats, type IoStats } from '../../io/byte-source.js';
import type { Slide } from '../../slide/slide.js';
import { openSpec } from '../open-spec.js';
import type { CreateBackend, PixelBackend } from './backend.js';
import { createBackend as createDefault } from './default-backend.js';
import { runJob, type PixelJob } from './job.js';

export type ToWorker = { type: 'job'; id: number; job: PixelJob } | { type: 'cancel'; id: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; body: Uint8Array; width: number; height: number; io: IoStats }
  | { type: 'failed'; id: number; code: string; message: string };

interface WorkerData {
  backendUrl?: string;
  maxSlides?: number;
}

const data = (workerData ?? {}) as WorkerData;
const port = parentPort!;
const slides = new Map<string, Promise<Slide>>();
const running = new Map<number, AbortController>();
const MAX_SLIDES = data.maxSlides ?? 16;

/** I/O of this worker's slides so far (closed slides keep counting in `retired`). */
const retired = newStats();
async function ioStats(): Promise<IoStats> {
  const sum = { ...retired };
  for (const r of await Promise.allSettled([...slides.values()])) {
    const st = r.status === 'fulfilled' ? r.value.stats() : undefined;
    if (!st) continue;
    sum.requests += st.requests;
    sum.bytesFetched += st.bytesFetched;
    sum.bytesRequested += st.bytesRequested;
  }
  return sum;
}

function slideOf(job: PixelJob): Promise<Slide> {
  const key = JSON.stringify(job.spec);
  let p = slides.get(key);
  if (p) {
    slides.delete(key);
    slides.set(key, p);
    return p;
  }
  p = openSpec(job.spec);
  slides.set(key, p);
  p.catch(() => slides.get(key) === p && slides.delete(key));
  while (slides.size > MAX_SLIDES) {
    const [k, old] = slides.entries().next().value as [string, Promise<Slide>];
    slides.delete(k);
    setTimeout(
      () =>
        old
          .then((s) => {
            const st = s.stats();
            if (st) {
              retired.requests += st.requests;
              retired.bytesFetched += st.bytesFetched;
              retired.bytesRequested += st.bytesRequested;
            }
            return s.close();
          })
          .catch(() => undefined),
      30_000,
    ).unref();
  }
  return p;
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
    slideOf(m.job)
      .then((slide) => runJob(backend, slide, m.job, ac.signal))
      .then(async (r) => ({ r, io: await ioStats() }))
      .then(
        ({ r, io }) => {
          const body = r.body.byteOffset === 0 && r.body.byteLength === r.body.buffer.byteLength ? r.body : r.body.slice();
          const msg: FromWorker = { type: 'done', id: m.id, body, width: r.width, height: r.height, io };
          port.postMessage(msg, [body.buffer as ArrayBuffer]);
        },
        (e: unknown) => {
          const err = asImageboxError(e);
          const msg: FromWorker = { type: 'failed', id: m.id, code: err.code, message: err.message };
          port.postMessage(msg);
        },
      )
      .finally(() => running.delete(m.id));
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

main().catch((e: unknown) => {
  const err = asImageboxError(e);
  port.postMessage({ type: 'failed', id: -1, code: err.code, message: `worker start-up: ${err.message}` } satisfies FromWorker);
  process.exit(1);
});
