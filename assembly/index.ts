// The WASM kernel module: one module, the same bytes in Node and in the browser.
// Every export is a plain function over linear memory; callers own the buffers
// (see src/codecs/kernels.ts). Kernels arrive one file each (jpeg/, lzw.ts, ...).

export { version, alloc, reset } from "./memory";
