// Node only: open a slide's bytes from a path, a file: URL or an http(s) URL,
// behind a RangeScheduler (coalescing, single flight, byte cache).
import { fileURLToPath } from 'node:url';
import { ImageboxError } from '../errors.js';
import type { ByteSource } from './byte-source.js';
import { FileSource, type FileSourceOptions } from './file-source.js';
import type { HttpTransport } from './http-transport.js';
import { HttpSource, type HttpSourceOptions } from './http-source.js';
import { RangeScheduler, type RangeSchedulerOptions } from './range-scheduler.js';
import { UndiciTransport, type UndiciTransportOptions } from './undici-transport-node.js';

export interface OpenSourceOptions {
  /** HttpSource options for http(s) URLs (transport defaults to a shared undici transport). */
  http?: Omit<HttpSourceOptions, 'transport'> & { transport?: HttpTransport };
  /** Options of the undici transport created when none is given. */
  undici?: UndiciTransportOptions;
  /** Local file options. */
  file?: FileSourceOptions;
  /** Scheduler options, or false for the bare source. */
  scheduler?: RangeSchedulerOptions | false;
  /** Connect only to public addresses (an ad-hoc slide URL): the shared public-only transport. */
  publicOnly?: boolean;
}

let shared: UndiciTransport | undefined;
let sharedPublic: UndiciTransport | undefined;

/**
 * The process-wide undici transport (one keep-alive pool per origin), with
 * IMAGEBOX_ORIGIN_CONNECTIONS connections per origin when set (`serve
 * --origin-connections`; pixel workers inherit it).
 */
export function sharedUndiciTransport(): UndiciTransport {
  shared ??= new UndiciTransport(connectionsFromEnv());
  return shared;
}

/** The same for ad-hoc slide URLs: connections to public addresses only (address-guard.ts). */
export function sharedPublicOnlyTransport(): UndiciTransport {
  sharedPublic ??= new UndiciTransport({ ...connectionsFromEnv(), publicOnly: true });
  return sharedPublic;
}

function connectionsFromEnv(): { connections?: number } {
  const env = process.env['IMAGEBOX_ORIGIN_CONNECTIONS'];
  return env !== undefined && /^[1-9]\d{0,3}$/.test(env) ? { connections: Number(env) } : {};
}

/** File options, with IMAGEBOX_SYNC_READ_MAX_BYTES (0 = always async: network filesystems) as the default. */
function fileOptions(options: OpenSourceOptions): FileSourceOptions {
  const env = process.env['IMAGEBOX_SYNC_READ_MAX_BYTES'];
  const fromEnv = env !== undefined && /^\d+$/.test(env) ? Number(env) : undefined;
  return { syncReadMaxBytes: options.file?.syncReadMaxBytes ?? fromEnv };
}

export function openByteSource(pathOrUrl: string | URL, options: OpenSourceOptions = {}): ByteSource {
  const raw = typeof pathOrUrl === 'string' ? pathOrUrl : pathOrUrl.href;
  let source: ByteSource;
  if (/^https?:\/\//i.test(raw)) {
    const transport =
      options.http?.transport ??
      (options.undici ? new UndiciTransport({ ...options.undici, publicOnly: options.publicOnly }) : options.publicOnly ? sharedPublicOnlyTransport() : sharedUndiciTransport());
    source = new HttpSource(raw, { ...options.http, transport });
  } else if (/^file:/i.test(raw)) {
    source = new FileSource(fileURLToPath(raw), fileOptions(options));
  } else if (/^[a-z][a-z0-9+.-]+:\/\//i.test(raw)) {
    throw new ImageboxError('E_BAD_REQUEST', `unsupported source scheme: ${raw.slice(0, raw.indexOf(':'))}`);
  } else {
    source = new FileSource(raw, fileOptions(options));
  }
  if (options.scheduler === false) return source;
  // A local file is read directly: its reads are cheap preads with the OS page
  // cache under them, and the scheduler's bookkeeping (batching, single flight,
  // a second copy in the span cache) cost more than they saved (server CPU per
  // passthrough tile 402 -> 286 us). Pass scheduler options to have one anyway.
  if (source instanceof FileSource && options.scheduler === undefined) return source;
  return new RangeScheduler(source, options.scheduler ?? {});
}
