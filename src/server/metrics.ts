// Prometheus text exposition: requests by route and status, a latency
// histogram, response cache hits, pixel pool and origin I/O counters.
import type { StreamCounters } from '../stream/host.js';
import type { SharedCacheStats } from '../io/shared-cache.js';

/** The second cache level's series; level "threads" (the serve threads' store) or "redis" (the cluster's). */
export function sharedCacheLines(level: 'threads' | 'redis', s: SharedCacheStats): string[] {
  return [
    '# HELP imagebox_shared_cache_total Lookups and writes of the second cache level (level="threads": the serve threads\' store on the main thread; level="redis": the cluster\'s).',
    '# TYPE imagebox_shared_cache_total counter',
    `imagebox_shared_cache_total{level="${level}",result="hit"} ${s.hits}`,
    `imagebox_shared_cache_total{level="${level}",result="miss"} ${s.misses}`,
    `imagebox_shared_cache_total{level="${level}",result="set"} ${s.sets}`,
    `imagebox_shared_cache_total{level="${level}",result="error"} ${s.errors}`,
  ];
}

export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Gauges {
  cacheHits: number;
  cacheMisses: number;
  cacheBytes: number;
  cacheEntries: number;
  singleFlightJoined: number;
  tilePaths: Record<string, number>;
  pool: { workers: number; running: number; queued: number; completed: number; failed: number; rejected: number } | undefined;
  openSlides: number;
  origin: { requests: number; bytesFetched: number; bytesRequested: number };
  /** The cluster's Redis level (this thread's client), when configured. */
  sharedCache?: SharedCacheStats | undefined;
  stream?: {
    connections: number;
    counters: StreamCounters;
    decodesRunning: number;
    decodesQueued: number;
    /** Decodes skipped at their turn: their tile had left the view. */
    decodesSkipped?: number;
    decodedCacheBytes: number;
  };
}

/** The pixel pool's series (the one pool of the process: --threads renders them once, on the main thread). */
export function poolLines(pool: NonNullable<Gauges['pool']>): string[] {
  return [
    '# TYPE imagebox_pixel_workers gauge',
    `imagebox_pixel_workers ${pool.workers}`,
    '# TYPE imagebox_pixel_jobs_running gauge',
    `imagebox_pixel_jobs_running ${pool.running}`,
    '# TYPE imagebox_pixel_jobs_queued gauge',
    `imagebox_pixel_jobs_queued ${pool.queued}`,
    '# TYPE imagebox_pixel_jobs_total counter',
    `imagebox_pixel_jobs_total{result="completed"} ${pool.completed}`,
    `imagebox_pixel_jobs_total{result="failed"} ${pool.failed}`,
    `imagebox_pixel_jobs_total{result="rejected"} ${pool.rejected}`,
  ];
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly buckets = new Map<string, number[]>();
  private readonly sums = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  readonly tilePaths: Record<string, number> = { passthrough: 0, transcode: 0, cache: 0 };

  observe(route: string, status: number, seconds: number): void {
    const key = `route="${route}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let b = this.buckets.get(route);
    if (!b) this.buckets.set(route, (b = LATENCY_BUCKETS.map(() => 0)));
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) b[i]!++;
    this.sums.set(route, (this.sums.get(route) ?? 0) + seconds);
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
  }

  render(g: Gauges): string {
    const out: string[] = [];
    out.push('# HELP imagebox_http_requests_total HTTP requests by route and status.', '# TYPE imagebox_http_requests_total counter');
    for (const [k, v] of this.requests) out.push(`imagebox_http_requests_total{${k}} ${v}`);
    out.push('# HELP imagebox_http_request_duration_seconds Time to answer, by route.', '# TYPE imagebox_http_request_duration_seconds histogram');
    for (const [route, b] of this.buckets) {
      LATENCY_BUCKETS.forEach((le, i) => out.push(`imagebox_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${b[i]}`));
      out.push(`imagebox_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${this.counts.get(route)}`);
      out.push(`imagebox_http_request_duration_seconds_sum{route="${route}"} ${this.sums.get(route)}`);
      out.push(`imagebox_http_request_duration_seconds_count{route="${route}"} ${this.counts.get(route)}`);
    }
    const total = g.cacheHits + g.cacheMisses;
    out.push(
      '# HELP imagebox_cache_hits_total Response cache hits.',
      '# TYPE imagebox_cache_hits_total counter',
      `imagebox_cache_hits_total ${g.cacheHits}`,
      '# HELP imagebox_cache_misses_total Response cache misses.',
      '# TYPE imagebox_cache_misses_total counter',
      `imagebox_cache_misses_total ${g.cacheMisses}`,
      '# HELP imagebox_cache_hit_ratio Response cache hits / lookups.',
      '# TYPE imagebox_cache_hit_ratio gauge',
      `imagebox_cache_hit_ratio ${total ? g.cacheHits / total : 0}`,
      '# HELP imagebox_cache_bytes Bytes held by the response cache.',
      '# TYPE imagebox_cache_bytes gauge',
      `imagebox_cache_bytes ${g.cacheBytes}`,
      `imagebox_cache_entries ${g.cacheEntries}`,
      '# HELP imagebox_single_flight_joined_total Requests that joined identical work in flight.',
      '# TYPE imagebox_single_flight_joined_total counter',
      `imagebox_single_flight_joined_total ${g.singleFlightJoined}`,
      '# HELP imagebox_tiles_total Image responses by path (passthrough, transcode, cache).',
      '# TYPE imagebox_tiles_total counter',
    );
    for (const [p, n] of Object.entries(g.tilePaths)) out.push(`imagebox_tiles_total{path="${p}"} ${n}`);
    if (g.pool) out.push(...poolLines(g.pool));
    out.push(
      '# TYPE imagebox_open_slides gauge',
      `imagebox_open_slides ${g.openSlides}`,
      '# HELP imagebox_origin_requests_total Requests sent to slide origins (main thread and pixel workers).',
      '# TYPE imagebox_origin_requests_total counter',
      `imagebox_origin_requests_total ${g.origin.requests}`,
      '# HELP imagebox_origin_bytes_total Bytes fetched from slide origins (main thread and pixel workers).',
      '# TYPE imagebox_origin_bytes_total counter',
      `imagebox_origin_bytes_total ${g.origin.bytesFetched}`,
      `imagebox_origin_bytes_requested_total ${g.origin.bytesRequested}`,
    );
    if (g.sharedCache) out.push(...sharedCacheLines('redis', g.sharedCache));
    const st = g.stream;
    if (st) {
      const c = st.counters;
      out.push(
        '# HELP imagebox_stream_connections WebSocket stream connections open.',
        '# TYPE imagebox_stream_connections gauge',
        `imagebox_stream_connections ${st.connections}`,
        '# HELP imagebox_stream_tiles_total Tiles pushed over streams, by encoding and reason (visible, prefetch).',
        '# TYPE imagebox_stream_tiles_total counter',
      );
      for (const [k, n] of Object.entries(c.tilesPushed)) {
        const [encoding, reason] = k.split(':');
        out.push(`imagebox_stream_tiles_total{encoding="${encoding}",reason="${reason}"} ${n}`);
      }
      out.push(
        '# TYPE imagebox_stream_bytes_total counter',
        `imagebox_stream_bytes_total ${c.bytesPushed}`,
        '# HELP imagebox_stream_prefetch_total Prefetched tiles: pushed, later shown by a view (used), never shown before the slide closed (wasted).',
        '# TYPE imagebox_stream_prefetch_total counter',
        `imagebox_stream_prefetch_total{result="pushed"} ${c.prefetchPushed}`,
        `imagebox_stream_prefetch_total{result="used"} ${c.prefetchUsed}`,
        `imagebox_stream_prefetch_total{result="wasted"} ${c.prefetchWasted}`,
        '# TYPE imagebox_stream_cancelled_total counter',
        `imagebox_stream_cancelled_total ${c.cancelled}`,
        '# TYPE imagebox_stream_tile_errors_total counter',
        `imagebox_stream_tile_errors_total ${c.tileErrors}`,
        '# TYPE imagebox_stream_views_done_total counter',
        `imagebox_stream_views_done_total ${c.viewsDone}`,
        '# HELP imagebox_stream_origin_requests_per_tile Origin requests made by stream reads per tile read.',
        '# TYPE imagebox_stream_origin_requests_per_tile gauge',
        `imagebox_stream_origin_requests_per_tile ${c.tilesRead ? c.originRequests / c.tilesRead : 0}`,
        '# TYPE imagebox_stream_decodes gauge',
        `imagebox_stream_decodes{state="running"} ${st.decodesRunning}`,
        `imagebox_stream_decodes{state="queued"} ${st.decodesQueued}`,
        '# HELP imagebox_stream_decodes_skipped_total Decodes not run: their tile left the view before their turn.',
        '# TYPE imagebox_stream_decodes_skipped_total counter',
        `imagebox_stream_decodes_skipped_total ${st.decodesSkipped ?? 0}`,
        '# TYPE imagebox_stream_decoded_cache_bytes gauge',
        `imagebox_stream_decoded_cache_bytes ${st.decodedCacheBytes}`,
      );
    }
    return out.join('\n') + '\n';
  }
}
