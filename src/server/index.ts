// The server room's public surface (Node only).
export { createImagebox, type Imagebox, type ImageboxOptions } from './app.js';
export { startServer, type StartedServer } from './serve.js';
export { fetchHandler } from './fetch.js';
export type { Handler, HttpRequest, HttpResponse } from './handlers/types.js';
export type { PixelBackend, RegionRenderer, EncodeOptions, CreateBackend } from './pixels/backend.js';
export type { PixelJob, JobResult } from './pixels/job.js';
export { PixelPool, type PoolOptions } from './pixels/pool.js';
export { SlideRegistry, encodeRemoteId, loadConfig, type RegistryConfig, type RegistryOptions, type SourceSpec } from './registry.js';
export { parseImageRequest, type ImageRequest } from './iiif/request.js';
export { planImage, DEFAULT_LIMITS, type ImagePlan, type Limits } from './iiif/plan.js';
export { infoJson2, infoJson3 } from './iiif/info.js';
export { spliceJpeg } from '../codecs/jpeg-splice.js';
