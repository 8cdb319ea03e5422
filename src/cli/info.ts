// `imagebox info <path|url> [--json] [--stats] [--header 'K: V' ...]`
import { parseArgs } from 'node:util';
import { openSlide } from '../node/open-slide.js';
import { formatInfo, type OpenStats } from './format-info.js';
import { parseHeaders } from './headers.js';

export async function runInfo(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      stats: { type: 'boolean', default: false },
      header: { type: 'string', multiple: true, default: [] },
    },
  });
  const location = positionals[0];
  if (!location || positionals.length > 1) {
    process.stderr.write('usage: imagebox info <path|url> [--json] [--stats] [--header "Name: value"]\n');
    return 2;
  }
  const started = performance.now();
  const slide = await openSlide(location, { source: { http: { headers: parseHeaders(values.header) } } });
  const wallMs = performance.now() - started;
  const io = slide.stats();
  const stats: OpenStats | undefined = values.stats
    ? { requests: io?.requests ?? 0, bytesFetched: io?.bytesFetched ?? 0, bytesRequested: io?.bytesRequested ?? 0, wallMs }
    : undefined;
  const d = slide.describe();
  process.stdout.write(
    values.json ? `${JSON.stringify(stats ? { ...d, stats } : d, null, 2)}\n` : `${formatInfo(location, d, stats)}\n`,
  );
  await slide.close();
  return 0;
}
