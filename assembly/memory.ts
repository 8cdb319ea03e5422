// A bump allocator over linear memory for caller-owned scratch buffers.
// The host asks for buffers with alloc(), fills them, calls a kernel, reads the
// result and calls reset() before the next job: no per-tile garbage, no GC.

const KERNELS_VERSION: i32 = 1;

let top: usize = 0;

/** Version of the kernel ABI: the host refuses a module it does not know. */
export function version(): i32 {
  return KERNELS_VERSION;
}

/** Reserve `bytes` (16-byte aligned); grows memory when needed; 0 when it cannot. */
export function alloc(bytes: usize): usize {
  if (top == 0) top = (__heap_base + 15) & ~15;
  const start = top;
  const end = (start + bytes + 15) & ~15;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return start;
}

/** Release every buffer handed out by alloc(). */
export function reset(): void {
  top = (__heap_base + 15) & ~15;
}
