// nginx as a static range origin (what a real static origin is): our own
// config under .bench-data/run/, one worker, sendfile, keep-alive, CORS with
// Content-Range exposed; started in the foreground (daemon off) so that its
// PID is ours to stop. Run as root, the worker stays root (`user root`, as
// test/helpers/nginx.ts does): a CI checkout under /root is not world-readable.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, stopper, waitForHttp } from './util.mjs';

export const NGINX = process.env.BENCH_NGINX ?? '/usr/sbin/nginx';
export const haveNginx = () => existsSync(NGINX);

/**
 * nginx on 127.0.0.1 (a free port unless given) with `httpBody` inside its http
 * block (temp paths, no access log and long keep-alive are set here); ready once
 * `readyPath` answers. `stop()` ends it; `child` is its process.
 */
export async function startNginxWith(httpBody, { port, dataDir, name = 'bench-nginx', readyPath = '/' }) {
  port = port ?? (await freePort());
  const run = path.join(dataDir, 'run', `${name}-${port}`);
  mkdirSync(run, { recursive: true });
  const conf = path.join(run, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${run}/nginx.pid;
error_log ${run}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${run}/tmp-body;
  proxy_temp_path ${run}/tmp-proxy;
  fastcgi_temp_path ${run}/tmp-fcgi;
  uwsgi_temp_path ${run}/tmp-uwsgi;
  scgi_temp_path ${run}/tmp-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
${typeof httpBody === 'function' ? httpBody(port) : httpBody}
}
`,
  );
  const child = spawn(NGINX, ['-p', run, '-e', `${run}/error.log`, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitForHttp(base + readyPath), exited.then((c) => Promise.reject(new Error(`nginx exited ${c}: ${err.trim()}`)))]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { base, port, run, child, pid: child.pid, stop: stopper(child) };
}

/** nginx serving `root` on 127.0.0.1 (a free port unless given); `stop()` ends it. */
export async function startNginx(root, { port, dataDir }) {
  const n = await startNginxWith(
    (p) => `  sendfile on;
  tcp_nodelay on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${p};
    root ${path.resolve(root)};
    location / {
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Allow-Headers "range, if-range" always;
      add_header Access-Control-Expose-Headers "content-range, content-length, etag, accept-ranges" always;
      if ($request_method = OPTIONS) { return 204; }
    }
  }`,
    { port, dataDir },
  );
  return { base: n.base, pid: n.pid, stop: n.stop };
}

/**
 * The http-block content of a cluster's nginx as docs/deployment.md gives it: each
 * slide's requests (IIIF, DeepZoom, JSON, viewer, and the stream by its ?slide=
 * hint) on one of `nodePorts` by `hash $slide consistent`, the next node on the
 * ring when that one fails. The cluster test and bench/cluster.mjs both run it.
 */
export function clusterNginxConf(port, nodePorts) {
  return `
  map $request_uri $slide {
    ~^/(?:t/[^/]+/)?dzi/([^/?]+?)(?:\\.dzi|_files)(?:[/?]|$)      $1;
    ~^/(?:t/[^/]+/)?(?:iiif/[23]|slides|view)/([^/?]+)          $1;
    ~^/(?:t/[^/]+/)?stream\\?(?:[^#]*&)?slide=([^&#]+)          $1;
    default                                                     $request_uri;
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream imagebox {
    hash $slide consistent;
${nodePorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=30s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://imagebox;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host:$server_port;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
    }
  }`;
}
