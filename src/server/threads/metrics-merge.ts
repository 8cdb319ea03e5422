// /metrics under --threads: every serve thread renders its own exposition
// (src/server/metrics.ts); the main thread sums them series by series, keeps
// each metric family's lines together in the order they first appear, adds
// the one pixel pool's series (and the pool's origin I/O to the origin
// counters), the shared cache level's counters and the thread count.
import { poolLines, sharedCacheLines } from '../metrics.js';
import type { PoolStats } from '../pixels/pool.js';
import type { SharedCacheStats } from '../../io/shared-cache.js';

interface Family {
  meta: string[];
  series: Map<string, number>;
}

/** Series that are ratios: recomputed or averaged, not summed. */
const AVERAGED = new Set(['imagebox_stream_origin_requests_per_tile']);

export function mergeMetrics(texts: string[], extra: { pool?: PoolStats; shared?: SharedCacheStats; threads: number }): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { meta: [], series: new Map() }));
    return f;
  };
  // the threads' store joins the family the threads' own Redis series may have started
  const all = extra.shared ? [...texts, sharedCacheLines('threads', extra.shared).join('\n')] : texts;
  for (const text of all) {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (?:HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
      if (meta) {
        current = family(meta[1]!);
        if (!current.meta.includes(line)) current.meta.push(line);
        continue;
      }
      const sp = line.lastIndexOf(' ');
      if (sp <= 0) continue;
      const key = line.slice(0, sp);
      const value = Number(line.slice(sp + 1));
      const name = key.replace(/\{.*$/, '');
      const f = current ?? family(name);
      f.series.set(key, (f.series.get(key) ?? 0) + (Number.isFinite(value) ? value : 0));
    }
  }
  const n = Math.max(1, texts.length);
  for (const f of families.values()) for (const k of f.series.keys()) if (AVERAGED.has(k)) f.series.set(k, f.series.get(k)! / n);
  const hits = sum(families, 'imagebox_cache_hits_total');
  const misses = sum(families, 'imagebox_cache_misses_total');
  for (const f of families.values()) if (f.series.has('imagebox_cache_hit_ratio')) f.series.set('imagebox_cache_hit_ratio', hits + misses ? hits / (hits + misses) : 0);
  if (extra.pool) {
    for (const [k, v] of [
      ['imagebox_origin_requests_total', extra.pool.io.requests],
      ['imagebox_origin_bytes_total', extra.pool.io.bytesFetched],
      ['imagebox_origin_bytes_requested_total', extra.pool.io.bytesRequested],
    ] as const) {
      for (const f of families.values()) if (f.series.has(k)) f.series.set(k, f.series.get(k)! + v);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(...f.meta);
    for (const [k, v] of f.series) out.push(`${k} ${v}`);
  }
  if (extra.pool) out.push(...poolLines(extra.pool));
  out.push('# HELP imagebox_serve_threads uWS serve threads of this process.', '# TYPE imagebox_serve_threads gauge', `imagebox_serve_threads ${extra.threads}`);
  return out.join('\n') + '\n';
}

function sum(families: Map<string, Family>, key: string): number {
  for (const f of families.values()) {
    const v = f.series.get(key);
    if (v !== undefined) return v;
  }
  return 0;
}
