// The Kubernetes manifest set as shipped (deploy/kubernetes/): no cluster runs
// here, so what can be checked on this machine is checked with the real parts:
// the nginx ConfigMap is the configuration the cluster test runs (and the one
// docs/deployment.md prints), Debian's nginx accepts it (`nginx -t`), and the
// StatefulSet's serve arguments, environment and probes start a real node that
// answers them, with the slide registry ConfigMap as its --config.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNginxConf } from '../../bench/lib/nginx.mjs';
import { NGINX, freePort, haveNginx } from '../helpers/nginx.js';
import { haveRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { startServeProcess } from '../helpers/serve-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = (name: string): string => readFileSync(join(ROOT, 'deploy/kubernetes', name), 'utf8');

/** The literal block under `key: |` in a YAML text, dedented. */
function literalBlock(yaml: string, key: string): string {
  const lines = yaml.split('\n');
  const at = lines.findIndex((l) => l.trimStart().startsWith(`${key}: |`));
  if (at < 0) throw new Error(`no ${key}: | in the manifest`);
  const keyIndent = lines[at]!.length - lines[at]!.trimStart().length;
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() && l.length - l.trimStart().length <= keyIndent) break;
    body.push(l);
  }
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** The `- item` lines of a YAML sequence under `key:`. */
function sequence(yaml: string, key: string): string[] {
  const lines = yaml.split('\n');
  const at = lines.findIndex((l) => l.trim() === `${key}:`);
  if (at < 0) throw new Error(`no ${key}: in the manifest`);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    const m = /^\s*- (.*)$/.exec(l);
    if (!m) break;
    out.push(m[1]!.trim());
  }
  return out;
}

/** An nginx http-block text with comments, the upstream's servers, the listen address and whitespace made comparable. */
const comparable = (conf: string): string =>
  conf
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean)
    .map((l) => l.replace(/^server \S+ (max_fails)/, 'server NODE $1').replace(/^listen \S+;$/, 'listen PORT;'))
    .filter((l, i, all) => !(l.startsWith('server NODE') && all[i - 1]?.startsWith('server NODE')))
    .join('\n')
    .replace(/[ \t]+/g, ' ');

const k8sNginx = literalBlock(manifest('nginx.yaml'), 'default.conf');

describe('deploy/kubernetes: the nginx ConfigMap', () => {
  it('is the configuration the cluster test and bench/cluster.mjs run, and the one docs/deployment.md prints', () => {
    const tested = comparable(clusterNginxConf(1, [2, 3, 4]));
    expect(comparable(k8sNginx)).toBe(tested);
    const doc = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
    const block = /```nginx\n(map \$request_uri \$slide[\s\S]*?)```/.exec(doc);
    expect(block, 'docs/deployment.md prints the cluster nginx configuration').not.toBeNull();
    expect(comparable(block![1]!)).toBe(tested);
    // three StatefulSet pods by their stable names behind the headless Service
    expect(k8sNginx.match(/server imagebox-\d\.imagebox:8080 /g)).toHaveLength(3);
  });

  it.skipIf(!haveNginx)('is accepted by nginx -t (its upstream names resolved to 127.0.0.1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagebox-k8s-nginx-'));
    try {
      const port = await freePort();
      let n = 0;
      const body = k8sNginx.replace(/server imagebox-\d\.imagebox:8080/g, () => `server 127.0.0.1:${9000 + n++}`).replace(/listen 80;/, `listen 127.0.0.1:${port};`);
      const conf = `${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  access_log off;
${body}
}
`;
      writeFileSync(join(dir, 'nginx.conf'), conf);
      const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn(NGINX, ['-t', '-p', dir, '-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d));
        child.once('exit', (code) => resolve({ code, err }));
      });
      expect(r.err).toContain('test is successful');
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveRedis)('deploy/kubernetes: the imagebox StatefulSet', () => {
  const set = manifest('imagebox.yaml');
  let redis: RedisServer;
  let dir: string;
  beforeAll(async () => {
    redis = await startRedis(16);
    dir = mkdtempSync(join(tmpdir(), 'imagebox-k8s-node-'));
  });
  afterAll(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('its serve arguments, environment and probes start a node that answers them', async () => {
    const args = sequence(set, 'args');
    expect(args[0]).toBe('serve');
    const containerPort = Number(/containerPort: (\d+)/.exec(set)![1]);
    expect(args).toContain(`--port=${containerPort}`);
    // the slide registry ConfigMap, as mounted at --config
    const slidesJson = literalBlock(manifest('slides.yaml'), 'slides.json');
    const registry = JSON.parse(slidesJson) as { slides: Record<string, { url: string }> };
    expect(Object.keys(registry.slides).length).toBeGreaterThan(0);
    writeFileSync(join(dir, 'slides.json'), slidesJson);
    // the manifest's arguments verbatim, but this machine's port, config path and Redis
    const port = await freePort();
    const run = args.map((a) =>
      a.startsWith('--config=') ? `--config=${join(dir, 'slides.json')}` : a.startsWith('--port=') ? `--port=${port}` : a.startsWith('--shared-cache=') ? `--shared-cache=${redis.url}` : a,
    );
    expect(run.some((a) => a.startsWith('--shared-cache='))).toBe(true);
    const env: Record<string, string> = {};
    for (const m of set.matchAll(/\{ name: (\w+), value: "([^"]*)" \}/g)) env[m[1]!] = m[2]!;
    expect(env.IMAGEBOX_THREADS).toBeDefined();
    expect(run[0]).toBe('serve');
    const { child, out } = await startServeProcess([...run.slice(1), '--host=127.0.0.1', `--open-cache=${join(dir, 'open')}`], env);
    try {
      expect(out).toContain(`${env.IMAGEBOX_THREADS} threads`);
      expect(out).toContain(`shared cache ${redis.url}`);
      // the readiness and liveness probes' path
      for (const probe of set.matchAll(/httpGet: \{ path: (\S+), port: (\d+) \}/g)) {
        expect(Number(probe[2])).toBe(containerPort);
        const r = await fetch(`http://127.0.0.1:${port}${probe[1]}`);
        expect(r.status).toBe(200);
      }
      // the registry's slide is listed, and info.json ids name the public --base-url, not the node
      const base = args.find((a) => a.startsWith('--base-url='))!.slice('--base-url='.length);
      const list = await (await fetch(`http://127.0.0.1:${port}/slides`)).text();
      for (const id of Object.keys(registry.slides)) expect(list).toContain(`${base}/iiif/3/${encodeURIComponent(id)}/info.json`);
      expect(list).not.toContain(`127.0.0.1:${port}`);
      // nor the slide's origin (the bucket URL stays on the server)
      for (const { url } of Object.values(registry.slides)) expect(list).not.toContain(new URL(url).host);
      // terminationGracePeriodSeconds leaves the drain its time
      const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(set)![1]);
      const drain = Number(args.find((a) => a.startsWith('--drain-seconds='))!.split('=')[1]);
      expect(grace).toBeGreaterThan(drain);
    } finally {
      const gone = new Promise((r) => (child.exitCode !== null ? r(0) : child.once('exit', r)));
      child.kill('SIGTERM');
      await gone;
    }
  }, 30_000);
});
