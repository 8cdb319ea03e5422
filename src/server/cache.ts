// Rendered responses: an LRU bounded by bytes, and single flight so identical
// concurrent requests share one piece of work. A shared job is aborted only
// when every caller waiting for it has gone.
import { setMaxListeners } from 'node:events';
import { ImageboxError } from '../errors.js';

export interface CachedImage {
  body: Uint8Array;
  contentType: string;
  /** How it was made: passthrough | transcode. */
  path: 'passthrough' | 'transcode';
}

export class ByteLru<V extends { body: Uint8Array }> {
  private readonly map = new Map<string, V>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxEntryBytes = Math.max(1, Math.floor(maxBytes / 8)),
  ) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: string, v: V): void {
    const n = v.body.byteLength + key.length;
    if (n > this.maxEntryBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.body.byteLength + key.length;
      this.map.delete(key);
    }
    this.map.set(key, v);
    this.bytes += n;
    for (const [k, e] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= e.body.byteLength + k.length;
    }
  }

  get size(): number {
    return this.map.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  /** Remove every entry whose key matches. */
  deleteWhere(match: (key: string) => boolean): number {
    let n = 0;
    for (const [k, v] of this.map) {
      if (!match(k)) continue;
      this.map.delete(k);
      this.bytes -= v.body.byteLength + k.length;
      n++;
    }
    return n;
  }
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

/** Single flight: run(key, work) joins a running identical job instead of starting another. */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();
  joined = 0;

  run(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let f = this.flights.get(key);
    if (f) this.joined++;
    else {
      const controller = new AbortController();
      setMaxListeners(0, controller.signal);
      const flight: Flight<T> = { controller, waiters: 0, promise: undefined as unknown as Promise<T> };
      flight.promise = work(controller.signal).finally(() => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      });
      flight.promise.catch(() => undefined);
      this.flights.set(key, flight);
      f = flight;
    }
    const flight = f;
    flight.waiters++;
    if (!signal) return flight.promise.finally(() => flight.waiters--);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const leave = (): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        flight.waiters--;
      };
      const onAbort = (): void => {
        leave();
        if (flight.waiters === 0) {
          flight.controller.abort();
          if (this.flights.get(key) === flight) this.flights.delete(key);
        }
        reject(new ImageboxError('E_ABORTED', 'aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (v) => {
          leave();
          resolve(v);
        },
        (e: unknown) => {
          leave();
          reject(e);
        },
      );
    });
  }

  get inFlight(): number {
    return this.flights.size;
  }
}
