// The cluster's shared cache against Debian's redis-server: values round-trip
// under hashed keys with a TTL; a Redis that is down, or accepts and never
// answers, is a miss (never an error, never a wait past the command timeout);
// one that comes back is used again; the URL's password reaches no log line.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSharedCache, isRedisUrl, redisDisplay } from '../../src/node/redis-cache.js';
import { freePort } from '../helpers/nginx.js';
import { haveRedis, startRedis, type RedisServer } from '../helpers/redis.js';

const until = async (what: () => boolean | Promise<boolean>, ms = 8000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('redis URLs', () => {
  it('redis:// and rediss:// with a host; shown without credentials', () => {
    expect(isRedisUrl('redis://127.0.0.1:6379')).toBe(true);
    expect(isRedisUrl('rediss://user:secret@cache.internal:6380/2')).toBe(true);
    expect(isRedisUrl('http://127.0.0.1:6379')).toBe(false);
    expect(isRedisUrl('redis://')).toBe(false);
    expect(isRedisUrl('not a url')).toBe(false);
    expect(redisDisplay('rediss://user:secret@cache.internal:6380/2')).toBe('rediss://cache.internal:6380/2');
    expect(() => new RedisSharedCache('memcached://x')).toThrow(/redis:\/\//);
  });
});

describe.skipIf(!haveRedis)('RedisSharedCache on redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('values round-trip by key, under hashed keys with a TTL', async () => {
    const c = new RedisSharedCache(redis.url, { ttlSeconds: 600, log: () => undefined });
    try {
      await until(() => c.connected);
      const a = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
      await c.set('imagebox-block/1 "etag-1" 0+70000 http://origin.example/wsi/a.svs', a);
      await c.set('k2', Uint8Array.of(1, 2, 3));
      const [x, missing, y] = await c.getMany(['imagebox-block/1 "etag-1" 0+70000 http://origin.example/wsi/a.svs', 'nope', 'k2']);
      expect(x).toEqual(a);
      expect(missing).toBeUndefined();
      expect(y).toEqual(Uint8Array.of(1, 2, 3));
      expect(c.stats()).toMatchObject({ hits: 2, misses: 1, sets: 2, errors: 0 });
      // no URL or slide name in Redis: the keys are digests
      const keys = await redis.command('KEYS *');
      expect(keys).toMatch(/imagebox:[A-Za-z0-9_-]{43}/);
      expect(keys).not.toContain('origin.example');
      const key = /imagebox:[A-Za-z0-9_-]{43}/.exec(keys)![0];
      const ttl = Number(/:(\d+)/.exec(await redis.command(`TTL ${key}`))![1]);
      expect(ttl).toBeGreaterThan(500);
      expect(ttl).toBeLessThanOrEqual(600);
      await c.delete('k2');
      expect(await c.getMany(['k2'])).toEqual([undefined]);
    } finally {
      await c.close();
    }
  });

  it('a Redis that goes away is a miss, and is used again when it is back', async () => {
    const port = await freePort();
    let own = await startRedis(16, port);
    const lines: string[] = [];
    const c = new RedisSharedCache(`redis://:s3cret-pass@127.0.0.1:${port}`, { log: (l) => lines.push(l) });
    try {
      await until(() => c.connected);
      await c.set('k', Uint8Array.of(9));
      expect(await c.getMany(['k'])).toEqual([Uint8Array.of(9)]);
      await own.stop();
      await until(() => !c.connected);
      const t0 = performance.now();
      expect(await c.getMany(['k', 'j'])).toEqual([undefined, undefined]);
      expect(performance.now() - t0).toBeLessThan(1000);
      await c.set('k', Uint8Array.of(1)); // dropped, not queued
      expect(c.stats().errors).toBeGreaterThan(0);
      own = await startRedis(16, port);
      await until(() => c.connected, 10_000);
      expect(await c.getMany(['k'])).toEqual([undefined]); // a new, empty Redis: nothing was queued for it
      await c.set('k', Uint8Array.of(2));
      expect(await c.getMany(['k'])).toEqual([Uint8Array.of(2)]);
      expect(lines.some((l) => l.includes('unreachable'))).toBe(true);
      expect(lines.some((l) => l.includes('reachable again'))).toBe(true);
      expect(lines.join('\n')).not.toContain('s3cret-pass');
    } finally {
      await c.close();
      await own.stop();
    }
  });

  it('a server that accepts and never answers costs no more than the command timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const c = new RedisSharedCache(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 200, log: () => undefined });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      expect(await c.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined]);
      await c.set('a', Uint8Array.of(1));
      expect(performance.now() - t0).toBeLessThan(500);
      expect(c.stats().misses).toBe(3);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
