// Loads the AssemblyScript kernel module (build/kernels.wasm). Isomorphic: the
// caller hands over the compiled WebAssembly.Module (Node: kernels-node.ts reads
// the file; browser: fetch + compileStreaming). One instance per thread; after a
// trap the instance may be inconsistent, so `renew()` makes a fresh one from the
// same compiled module (cheap: no recompilation).

import { ImageboxError } from '../errors.js';

/** The raw exports of kernels.wasm. Kernels add their functions here as they land. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  version(): number;
  alloc(bytes: number): number;
  reset(): void;
  [name: string]: unknown;
}

export const KERNELS_ABI_VERSION = 1;

/** Linear memory never grows past this (bytes): a hostile tile cannot take the process down. */
export const KERNELS_MAX_MEMORY = 1024 * 1024 * 1024;

/** What kernels.wasm imports: an abort (AssemblyScript's assertion hook) becomes E_CORRUPT_TILE. */
const KERNEL_IMPORTS = {
  env: {
    abort: (_msg: number, _file: number, line: number, col: number) => {
      throw new ImageboxError('E_CORRUPT_TILE', `kernel abort at ${line}:${col}`);
    },
    seed: () => Date.now(),
  },
};

export class Kernels {
  private instance!: WebAssembly.Instance;
  exports!: KernelExports;
  /** How many times the instance was replaced after a trap. */
  renewals = 0;

  private constructor(private readonly module: WebAssembly.Module) {}

  static async fromModule(module: WebAssembly.Module): Promise<Kernels> {
    const k = new Kernels(module);
    await k.instantiate();
    return k;
  }

  static async fromBytes(bytes: BufferSource): Promise<Kernels> {
    return Kernels.fromModule(await WebAssembly.compile(bytes));
  }

  private async instantiate(): Promise<void> {
    this.instance = await WebAssembly.instantiate(this.module, KERNEL_IMPORTS);
    this.exports = this.instance.exports as unknown as KernelExports;
    const v = this.exports.version();
    if (v !== KERNELS_ABI_VERSION) {
      throw new ImageboxError('E_INTERNAL', `kernels.wasm ABI ${v}, expected ${KERNELS_ABI_VERSION}: rebuild with npm run build`);
    }
  }

  /** Replace the instance (after a trap). Synchronous so callers can do it in a catch. */
  renew(): void {
    this.instance = new WebAssembly.Instance(this.module, KERNEL_IMPORTS);
    this.exports = this.instance.exports as unknown as KernelExports;
    this.renewals++;
  }

  /** A fresh view of linear memory (views detach when memory grows). */
  u8(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer);
  }

  /** Copy `bytes` into kernel memory (after reset()/alloc()); returns the pointer. */
  put(bytes: Uint8Array): number {
    const ptr = this.alloc(bytes.length);
    this.u8().set(bytes, ptr);
    return ptr;
  }

  /** alloc() that refuses to grow memory past KERNELS_MAX_MEMORY. */
  alloc(bytes: number): number {
    if (bytes < 0 || this.exports.memory.buffer.byteLength + bytes > KERNELS_MAX_MEMORY + 64 * 1024 * 1024) {
      throw new ImageboxError('E_TOO_LARGE', `kernel buffer of ${bytes} bytes refused`);
    }
    const p = this.exports.alloc(bytes) >>> 0;
    if (p === 0) throw new ImageboxError('E_TOO_LARGE', `kernel memory exhausted allocating ${bytes} bytes`);
    return p;
  }

  /**
   * Run `fn` against the kernels; a WebAssembly trap (RuntimeError) becomes
   * E_CORRUPT_TILE and the instance is renewed so the next call starts clean.
   */
  run<T>(fn: (k: KernelExports) => T): T {
    try {
      return fn(this.exports);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || (e instanceof ImageboxError && e.code === 'E_CORRUPT_TILE')) {
        this.renew();
        throw e instanceof ImageboxError ? e : new ImageboxError('E_CORRUPT_TILE', `decoder trap: ${e.message}`, undefined, e);
      }
      throw e;
    }
  }
}
