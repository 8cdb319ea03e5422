// The successor of a pre-signed URL (S3, GCS), from the operator's refresher: a
// command (its first line of output, e.g. `aws s3 presign s3://bucket/key
// --expires-in 3600`) or a URL (its answer: the URL as text, or JSON { "url" }).
// Bounded: 10 s, 8 KiB of output. The refresher comes from the operator's config,
// never from a request. HttpSource checks that the new URL names the same object.
import { execFile } from 'node:child_process';
import { ImageboxError } from '../errors.js';

export interface UrlRefresh {
  /** A shell command that prints the new URL. */
  command?: string;
  /** A URL whose answer is the new URL (text, or JSON { url }). */
  url?: string;
}

const LIMIT = 8192;
const TIMEOUT_MS = 10_000;

export function urlRefresher(r: UrlRefresh): () => Promise<string> {
  if (r.command) {
    const command = r.command;
    return () =>
      new Promise((resolve, reject) => {
        execFile('/bin/sh', ['-c', command], { timeout: TIMEOUT_MS, maxBuffer: LIMIT, env: process.env }, (e, stdout) => {
          if (e) return reject(new ImageboxError('E_FORBIDDEN', 'the pre-signed URL expired and its refresh command failed'));
          const line = String(stdout).split('\n').find((l) => l.trim() !== '');
          if (!line) return reject(new ImageboxError('E_FORBIDDEN', 'the pre-signed URL expired and its refresh command printed no URL'));
          resolve(line.trim());
        });
      });
  }
  const from = r.url!;
  return async () => {
    let text: string;
    try {
      const res = await fetch(from, { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (res.status !== 200) throw new Error(String(res.status));
      text = (await res.text()).slice(0, LIMIT);
    } catch {
      throw new ImageboxError('E_FORBIDDEN', 'the pre-signed URL expired and its refresh URL did not give a new one');
    }
    const t = text.trim();
    if (t.startsWith('{')) {
      try {
        const j = JSON.parse(t) as { url?: unknown };
        if (typeof j.url === 'string') return j.url;
      } catch {
        /* not JSON after all */
      }
      throw new ImageboxError('E_FORBIDDEN', 'the pre-signed URL expired and its refresh URL answered JSON without "url"');
    }
    return t.split('\n')[0]!.trim();
  };
}
