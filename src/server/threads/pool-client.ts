// A serve thread's pixel runner: its jobs go to the one pixel pool of the
// process, on the main thread, so every thread's work shares the pool's slots,
// queue bound, per-origin cap and circuit breakers. Abort crosses over.
import type { PixelRunner } from '../images.js';
import type { JobResult, PixelJob } from '../pixels/job.js';
import type { Rpc } from './rpc.js';

export class PoolClient implements PixelRunner {
  constructor(private readonly rpc: Rpc) {}

  run(job: PixelJob, signal?: AbortSignal): Promise<JobResult> {
    return this.rpc.call<JobResult>('pixels', job, signal ? { signal } : {});
  }
}
