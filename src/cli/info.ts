// `imagebox info <path|url> [--json] [--stats] [--header 'K: V' ...] [--open-cache DIR]`
import { openSlide } from '../node/open-slide.js';
import { parseCommandLine, UsageError } from './args.js';
import { formatInfo, type OpenStats } from './format-info.js';
import { parseHeaders } from './headers.js';
import { DiskOpenCache } from '../node/open-cache-disk.js';

const USAGE = 'usage: imagebox info <path|url> [--json] [--stats] [--header "Name: value"] [--open-cache DIR]\n';

export async function runInfo(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    { json: { type: 'boolean' }, stats: { type: 'boolean' }, header: { type: 'string', multiple: true }, 'open-cache': { type: 'string' } },
    USAGE,
  );
  const location = positionals[0];
  if (!location || positionals.length > 1) throw new UsageError(location ? 'one slide at a time' : 'which slide?', USAGE);
  const started = performance.now();
  const cacheDir = values['open-cache'] as string | undefined;
  const slide = await openSlide(location, {
    source: { http: { headers: parseHeaders(values['header'] as string[]) } },
    // a remote slide opened before costs one validating request (docs/deployment.md: warm re-open)
    ...(cacheDir ? { openCache: new DiskOpenCache(cacheDir) } : {}),
  });
  const wallMs = performance.now() - started;
  const io = slide.stats();
  const stats: OpenStats | undefined = values['stats']
    ? { requests: io?.requests ?? 0, bytesFetched: io?.bytesFetched ?? 0, bytesRequested: io?.bytesRequested ?? 0, wallMs }
    : undefined;
  const d = slide.describe();
  process.stdout.write(values['json'] ? `${JSON.stringify(stats ? { ...d, stats } : d, null, 2)}\n` : `${formatInfo(location, d, stats)}\n`);
  await slide.close();
  return 0;
}
