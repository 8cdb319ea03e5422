// `serve --limit NAME=VALUE`: the bounds an operator may move, one flag for all
// of them (defaults in docs/deployment.md). Every one stays bounded: a value
// outside its range is a usage error, not "unlimited".
import type { Limits as IiifLimits } from '../server/iiif/plan.js';
import type { Limits as StreamLimits } from '../stream/protocol.js';
import { integerArg, UsageError } from './args.js';

export interface ServeLimits {
  iiif: Partial<IiifLimits>;
  stream: Partial<StreamLimits>;
  streamConnections?: number;
  streamInFlightBytes?: number;
}

const MAX = 2 ** 40;

/** name -> [where it goes, key, min, max]. */
const KNOWN: Record<string, [keyof ServeLimits, string, number, number]> = {
  maxWidth: ['iiif', 'maxWidth', 1, 65536],
  maxHeight: ['iiif', 'maxHeight', 1, 65536],
  maxArea: ['iiif', 'maxArea', 1, 2 ** 32],
  maxSourcePixels: ['iiif', 'maxSourcePixels', 1, MAX],
  streamConnections: ['streamConnections', '', 1, 65536],
  streamMessageBytes: ['stream', 'maxMessageBytes', 64, 1024 * 1024],
  streamSlidesPerConnection: ['stream', 'maxSlidesPerConnection', 1, 256],
  streamViewPixels: ['stream', 'maxViewPixels', 1, 2 ** 32],
  streamViewsPerSecond: ['stream', 'maxViewsPerSecond', 1, 100_000],
  streamIdleSeconds: ['stream', 'idleTimeoutSeconds', 8, 3600],
  streamInFlightBytes: ['streamInFlightBytes', '', 64 * 1024, 1024 * 1024 * 1024],
};

export const LIMIT_NAMES = Object.keys(KNOWN);

export function parseLimits(specs: readonly string[], usage: string): ServeLimits {
  const out: ServeLimits = { iiif: {}, stream: {} };
  for (const spec of specs) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(spec);
    const k = m ? KNOWN[m[1]!] : undefined;
    if (!m || !k) throw new UsageError(`--limit ${spec.slice(0, 64)}: expected NAME=VALUE with NAME one of ${LIMIT_NAMES.join(', ')}`, usage);
    const [where, key, min, max] = k;
    const n = integerArg(`--limit ${m[1]}`, m[2], min, max, usage);
    if (where === 'iiif') (out.iiif as Record<string, number>)[key] = n;
    else if (where === 'stream') (out.stream as Record<string, number>)[key] = n;
    else out[where] = n;
  }
  return out;
}
