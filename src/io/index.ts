// The isomorphic I/O room (no node: imports): bundles for a browser Web Worker.
// Node-only pieces: ./file-source.ts, ./undici-transport-node.ts, ./open-source-node.ts.
export { newStats, rangeEnd, type ByteRange, type ByteSource, type IoStats } from './byte-source.js';
export type { HttpTransport, TransportRequest, TransportResponse } from './http-transport.js';
export { FetchTransport, type FetchTransportOptions } from './fetch-transport.js';
export { HttpSource, redactUrl, type HttpSourceOptions } from './http-source.js';
export {
  multipartBoundary,
  parseContentRange,
  parseMultipart,
  rangeHeader,
  type BytePart,
  type ContentRange,
} from './http-ranges.js';
export { RangeScheduler, type RangeSchedulerOptions, type SchedulerStats } from './range-scheduler.js';
export { ByteBudget, SpanCache } from './span-cache.js';
export { MemorySource } from './memory-source.js';
export { MemoryOpenCache, type OpenCacheStore } from './open-cache.js';
