// Worker thread of the synthetic slide writer: runs TileJobs (see synthetic-jobs.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { kernels } from '../codecs/kernels-node.js';
import { jobRunner, type JobInit, type TileJob } from './synthetic-jobs.js';

const port = parentPort;
if (!port) throw new Error('synthetic-slide-worker runs as a worker thread');
const run = jobRunner(await kernels(), workerData as JobInit);
port.on('message', (job: TileJob) => {
  try {
    const r = run(job);
    const transfer: ArrayBuffer[] = [r.stream.buffer as ArrayBuffer, r.tables.buffer as ArrayBuffer];
    if (r.reduced) transfer.push(r.reduced.buffer as ArrayBuffer);
    port.postMessage({ result: r }, transfer);
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? { message: e.message, name: e.name } : { message: String(e) } });
  }
});
port.postMessage({ ready: true });
