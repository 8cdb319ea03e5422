// The second cache level of a cluster: Redis (Debian's redis-server, or any
// Redis-protocol service) through ioredis, a kept client (pipelining, MGET of
// buffers, reconnects with back-off, TLS with rediss://). Every node of a
// cluster reads the blocks and warm re-open entries the others fetched, so a
// slide that moves to another node (one died, the hash ring changed) costs its
// origin one validating request, not a cold open and every tile again.
//
// Redis is a cache here, never a dependency: a lookup that fails, or takes
// longer than commandTimeoutMs, is a miss, and while Redis is unreachable no
// command is queued (enableOfflineQueue off) so nothing waits on it. Keys are
// "imagebox:" + SHA-256 of our key (no URL, path or slide name in Redis), every
// value has a TTL, and the operator bounds the whole with maxmemory and an LRU
// policy (docs/deployment.md). The URL's credentials are never logged.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { MAX_SHARED_VALUE_BYTES, type SharedCache, type SharedCacheStats } from '../io/shared-cache.js';

export interface RedisCacheOptions {
  /** Seconds a value is kept (default 7 days; the LRU policy may drop it sooner). */
  ttlSeconds?: number;
  /** A command that takes longer is a miss (default 250 ms). */
  commandTimeoutMs?: number;
  /** Key prefix (default "imagebox:"; one per deployment that shares a Redis). */
  prefix?: string;
  /** Called on each change between reachable and unreachable (default: one line on stderr). */
  log?: (line: string) => void;
}

/** Whether `url` names a Redis server (redis:// or rediss://, with a host). */
export function isRedisUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** The URL without its credentials (for messages). */
export function redisDisplay(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'redis';
  }
}

export class RedisSharedCache implements SharedCache {
  private readonly client: Redis;
  private readonly counters: SharedCacheStats = { hits: 0, misses: 0, sets: 0, errors: 0 };
  private readonly ttl: number;
  private readonly prefix: string;
  private reachable: boolean | undefined;
  private closed = false;

  constructor(url: string, options: RedisCacheOptions = {}) {
    if (!isRedisUrl(url)) throw new Error('a shared cache URL is redis://[user:password@]host[:port][/db] or rediss://…');
    this.ttl = Math.max(1, Math.floor(options.ttlSeconds ?? 7 * 86_400));
    this.prefix = options.prefix ?? 'imagebox:';
    const log = options.log ?? ((line: string) => console.error(line));
    const where = redisDisplay(url);
    this.client = new Redis(url, {
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: 2000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // keep trying, at most every 2 s: a Redis that comes back is used again
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      enableAutoPipelining: true,
      lazyConnect: false,
    });
    const state = (up: boolean, why?: string) => {
      if (this.closed || this.reachable === up) return;
      const first = this.reachable === undefined;
      this.reachable = up;
      if (up && first) return;
      log(up ? `imagebox: shared cache ${where} reachable again` : `imagebox: shared cache ${where} unreachable (${why ?? 'closed'}); serving from the origins`);
    };
    this.client.on('ready', () => state(true));
    // an error event must have a listener (ioredis prints unhandled ones); only its code is logged
    this.client.on('error', (e: NodeJS.ErrnoException) => state(false, e.code ?? e.name));
    this.client.on('close', () => state(false));
  }

  private key(k: string): string {
    return this.prefix + createHash('sha256').update(k).digest('base64url');
  }

  private ready(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    if (!this.ready()) {
      this.counters.errors++;
      this.counters.misses += keys.length;
      return keys.map(() => undefined);
    }
    try {
      const values = await this.client.mgetBuffer(...keys.map((k) => this.key(k)));
      return values.map((v) => {
        if (v === null || v.length > MAX_SHARED_VALUE_BYTES) {
          this.counters.misses++;
          return undefined;
        }
        this.counters.hits++;
        return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      });
    } catch {
      this.counters.errors++;
      this.counters.misses += keys.length;
      return keys.map(() => undefined);
    }
  }

  async set(key: string, value: Uint8Array, ttlSeconds?: number): Promise<void> {
    if (value.byteLength > MAX_SHARED_VALUE_BYTES || !this.ready()) return;
    this.counters.sets++;
    try {
      await this.client.set(this.key(key), Buffer.from(value.buffer, value.byteOffset, value.byteLength), 'EX', Math.max(1, Math.floor(ttlSeconds ?? this.ttl)));
    } catch {
      this.counters.errors++;
    }
  }

  async delete(key: string): Promise<void> {
    if (!this.ready()) return;
    await this.client.del(this.key(key)).catch(() => this.counters.errors++);
  }

  stats(): SharedCacheStats {
    return { ...this.counters };
  }

  /** Whether the last connection attempt succeeded (for /metrics). */
  get connected(): boolean {
    return this.ready();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // QUIT when connected (what was sent is answered), else drop the socket and the retries
    if (this.client.status === 'ready') {
      await Promise.race([this.client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
    }
    this.client.disconnect();
  }
}
