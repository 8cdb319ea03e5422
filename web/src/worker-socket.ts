// A WebSocket that is not one: the viewer's direct mode. It starts the
// direct-mode Web Worker, which runs the same imagebox.v1 session as the
// server (src/stream/session.ts) over the slide's URL, and carries the frames
// to and from it. The stream client (src/stream/client.ts) cannot tell.
import type { WebSocketLike } from '../../src/stream/client.js';

type Listener = (ev: { data?: unknown; code?: number; reason?: string }) => void;

export interface WorkerSocketAssets {
  worker: string;
  kernels: string;
  openjpeg: string;
  /** CharLS (JPEG-LS), for DICOM slides whose frames are JPEG-LS; without it such tiles fail. */
  charls?: string;
}

/**
 * The worker's script and wasm fetched once into blob: URLs, so direct mode can
 * start after the server that served them has gone (the fallback case).
 * Resolves to the original URLs when fetching fails.
 */
const preloaded = new Map<string, Promise<WorkerSocketAssets>>();
export function preloadAssets(assets: WorkerSocketAssets): Promise<WorkerSocketAssets> {
  const k = `${assets.worker}\n${assets.kernels}\n${assets.openjpeg}\n${assets.charls ?? ''}`;
  let p = preloaded.get(k);
  if (!p) {
    const blobUrl = async (u: string, type: string): Promise<string> => {
      const r = await fetch(u);
      if (!r.ok) throw new Error(`${u}: ${r.status}`);
      return URL.createObjectURL(new Blob([await r.arrayBuffer()], { type }));
    };
    p = Promise.all([
      blobUrl(assets.worker, 'text/javascript'),
      blobUrl(assets.kernels, 'application/wasm'),
      blobUrl(assets.openjpeg, 'application/wasm'),
      assets.charls ? blobUrl(assets.charls, 'application/wasm') : Promise.resolve(undefined),
    ]).then(
      ([worker, kernels, openjpeg, charls]) => ({ worker, kernels, openjpeg, ...(charls ? { charls } : {}) }),
      () => {
        preloaded.delete(k);
        return assets;
      },
    );
    preloaded.set(k, p);
  }
  return p;
}

/** A WebSocket constructor whose sockets are direct-mode workers (the URL argument is ignored). */
export function workerSocketClass(assets: WorkerSocketAssets): new () => WebSocketLike {
  return class WorkerSocket implements WebSocketLike {
    binaryType = 'arraybuffer';
    readyState = 0;
    private readonly worker: Worker;
    private readonly listeners = new Map<string, Listener[]>();

    constructor() {
      this.worker = new Worker(assets.worker);
      this.worker.onmessage = (e: MessageEvent) => {
        const d = e.data as ArrayBuffer | { type: string; message?: string };
        if (d instanceof ArrayBuffer) return this.emit('message', { data: d });
        if (d.type === 'open') {
          this.readyState = 1;
          this.emit('open', {});
        } else if (d.type === 'close') this.shut(1000, '');
        else if (d.type === 'error') {
          this.emit('error', {});
          this.shut(1011, d.message ?? 'worker failed');
        }
      };
      this.worker.onerror = () => {
        this.emit('error', {});
        this.shut(1011, 'worker failed');
      };
      this.worker.postMessage({
        type: 'init',
        kernels: new URL(assets.kernels, location.href).href,
        openjpeg: new URL(assets.openjpeg, location.href).href,
        ...(assets.charls ? { charls: new URL(assets.charls, location.href).href } : {}),
      });
    }

    private emit(type: string, ev: Parameters<Listener>[0]): void {
      for (const l of this.listeners.get(type) ?? []) l(ev);
    }

    private shut(code: number, reason: string): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.worker.terminate();
      this.emit('close', { code, reason });
    }

    addEventListener(type: string, l: Listener): void {
      const list = this.listeners.get(type) ?? [];
      list.push(l);
      this.listeners.set(type, list);
    }

    send(data: ArrayBufferLike | ArrayBufferView): void {
      if (this.readyState !== 1) return;
      const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
      const copy = view.slice();
      this.worker.postMessage(copy.buffer, [copy.buffer]);
    }

    close(code = 1000, reason = ''): void {
      this.shut(code, reason);
    }
  };
}
