// Calls between the main thread and a uWS serve thread over one message port
// (a Worker, or parentPort inside it): call(op, arg) -> Promise, with abort;
// cast(op, arg) for one-way messages. Each side registers its operations.
// Answers are transferred (not copied) where the operation says so.
import { ImageboxError } from '../../errors.js';

/** A Worker, or worker_threads' parentPort. */
export interface Port {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (m: unknown) => void): unknown;
}

/** What an operation answers, with the buffers to transfer instead of copy. */
export interface Reply {
  value: unknown;
  transfer?: ArrayBuffer[];
}

export type Operation = (arg: any, signal: AbortSignal) => Promise<Reply> | Reply; // eslint-disable-line @typescript-eslint/no-explicit-any

type Message =
  | { t: 'call'; id: number; op: string; arg: unknown }
  | { t: 'cast'; op: string; arg: unknown }
  | { t: 'abort'; id: number }
  | { t: 'ok'; id: number; value: unknown }
  | { t: 'fail'; id: number; error: { code: string; message: string; status?: number; details?: Record<string, unknown> } };

/** The error of a failed call, as it crosses threads (typed errors keep their code). */
function encodeError(e: unknown): Extract<Message, { t: 'fail' }>['error'] {
  if (e instanceof ImageboxError) return { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  return { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export class Rpc {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly running = new Map<number, AbortController>();
  private closed = false;

  constructor(
    private readonly port: Port,
    private readonly ops: Record<string, Operation>,
  ) {
    port.on('message', (m) => this.onMessage(m as Message));
  }

  call<T>(op: string, arg: unknown, options: { transfer?: ArrayBuffer[]; signal?: AbortSignal } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new ImageboxError('E_BUSY', 'server is shutting down'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new ImageboxError('E_ABORTED', 'aborted'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.waiting.delete(id)) return;
        this.port.postMessage({ t: 'abort', id } satisfies Message);
        reject(new ImageboxError('E_ABORTED', 'aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.port.postMessage({ t: 'call', id, op, arg } satisfies Message, options.transfer);
    });
  }

  cast(op: string, arg: unknown, transfer?: ArrayBuffer[]): void {
    if (!this.closed) this.port.postMessage({ t: 'cast', op, arg } satisfies Message, transfer);
  }

  /** Fail every call still waiting (the other side is gone). */
  close(reason = 'the serve thread stopped'): void {
    this.closed = true;
    for (const w of this.waiting.values()) w.reject(new ImageboxError('E_BUSY', reason));
    this.waiting.clear();
    for (const ac of this.running.values()) ac.abort();
    this.running.clear();
  }

  private onMessage(m: Message): void {
    switch (m.t) {
      case 'call':
        void this.serve(m);
        return;
      case 'cast': {
        const op = this.ops[m.op];
        if (op) void Promise.resolve().then(() => op(m.arg, new AbortController().signal)).catch(() => undefined);
        return;
      }
      case 'abort':
        this.running.get(m.id)?.abort();
        return;
      case 'ok':
        this.waiting.get(m.id)?.resolve(m.value);
        this.waiting.delete(m.id);
        return;
      case 'fail': {
        const e = m.error;
        this.waiting.get(m.id)?.reject(new ImageboxError(e.code as ImageboxError['code'], e.message, e.details));
        this.waiting.delete(m.id);
        return;
      }
    }
  }

  private async serve(m: Extract<Message, { t: 'call' }>): Promise<void> {
    const op = this.ops[m.op];
    const ac = new AbortController();
    this.running.set(m.id, ac);
    try {
      if (!op) throw new ImageboxError('E_INTERNAL', `no operation ${m.op}`);
      const r = await op(m.arg, ac.signal);
      if (this.running.delete(m.id)) this.port.postMessage({ t: 'ok', id: m.id, value: r.value } satisfies Message, r.transfer);
    } catch (e) {
      if (this.running.delete(m.id)) this.port.postMessage({ t: 'fail', id: m.id, error: encodeError(e) } satisfies Message);
    }
  }
}

/** The buffer of a view, to transfer it: the view's own buffer when it spans it all, else a copy's. */
export function transferable(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return { bytes, transfer: [bytes.buffer] };
  const copy = bytes.slice();
  return { bytes: copy, transfer: [copy.buffer] };
}
