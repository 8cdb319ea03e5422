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

/** nginx serving `root` on 127.0.0.1 (a free port unless given); `stop()` ends it. */
export async function startNginx(root, { port, dataDir }) {
  port = port ?? (await freePort());
  const run = path.join(dataDir, 'run', `bench-nginx-${port}`);
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
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${path.resolve(root)};
    location / {
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Allow-Headers "range, if-range" always;
      add_header Access-Control-Expose-Headers "content-range, content-length, etag, accept-ranges" always;
      if ($request_method = OPTIONS) { return 204; }
    }
  }
}
`,
  );
  const child = spawn(NGINX, ['-p', run, '-e', `${run}/error.log`, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitForHttp(`${base}/`), exited.then((c) => Promise.reject(new Error(`nginx exited ${c}: ${err.trim()}`)))]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    base,
    pid: child.pid,
    stop: stopper(child),
  };
}
