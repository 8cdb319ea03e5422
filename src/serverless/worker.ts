// Cloudflare Workers entry (run locally by workerd). Bindings:
//   SLIDES  JSON text var (or a JSON binding): { "id": "https://...", ... } or { "id": { "url", "headers" } }
//   ALLOW   optional JSON list of URL prefixes for ad-hoc base64url ids
// kernels.wasm is a module import: Workers hand it over compiled (no
// WebAssembly.compile of bytes at run time, which Workers forbid).
import kernels from './kernels.wasm';
import { createServerlessHandler, type ServerlessHandler, type ServerlessSlide } from './handler.js';

export interface Env {
  SLIDES: string | Record<string, string | ServerlessSlide>;
  ALLOW?: string | string[];
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

let handler: ServerlessHandler | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    handler ??= createServerlessHandler({
      slides: json<Record<string, string | ServerlessSlide>>(env.SLIDES),
      allow: env.ALLOW === undefined ? [] : json<string[]>(env.ALLOW),
      kernels,
      onError: (e) => console.error('imagebox:', e),
    });
    return handler(request);
  },
};
