// Static files of the built viewer (dist/web) at /, read safely (no escaping
// the directory, no dotfiles, small set of types). /view/{id} is the viewer
// page (its assets resolve from /), /osd the OpenSeadragon page.
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, isAbsolute } from 'node:path';
import { ImageboxError } from '../../errors.js';
import type { HttpRequest, HttpResponse } from './types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

/**
 * Serve req.path from webDir; paths under /osd/ come from osdDir when given
 * (OpenSeadragon's build directory from node_modules).
 */
export async function staticHandler(webDir: string | undefined, req: HttpRequest, osdDir?: string): Promise<HttpResponse> {
  let path = req.path;
  if (path.startsWith('/view/') && path.length > 6) {
    const page = await staticHandler(webDir, { ...req, path: '/viewer.html' });
    const html = new TextDecoder().decode(page.body as Uint8Array).replace('<head>', '<head>\n<base href="/">');
    return { ...page, headers: { ...page.headers, 'Cache-Control': 'no-cache' }, body: new TextEncoder().encode(html) };
  }
  if (path === '/osd' || path === '/osd/') path = '/osd.html';
  if (osdDir && path.startsWith('/osd/')) {
    webDir = osdDir;
    path = path.slice(4);
  }
  if (!webDir) throw new ImageboxError('E_NOT_FOUND', 'not found');
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    throw new ImageboxError('E_BAD_REQUEST', 'bad path');
  }
  if (rel.endsWith('/')) rel += 'index.html';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\\]/.test(rel) || rel.split('/').some((s) => s === '..' || s.startsWith('.'))) throw new ImageboxError('E_NOT_FOUND', 'not found');
  const type = TYPES[extname(rel).toLowerCase()];
  if (!type) throw new ImageboxError('E_NOT_FOUND', 'not found');
  let root: string;
  let file: string;
  try {
    root = await realpath(webDir);
    file = await realpath(join(root, rel));
  } catch {
    throw new ImageboxError('E_NOT_FOUND', 'not found');
  }
  const r = relative(root, file);
  if (r.startsWith('..') || isAbsolute(r)) throw new ImageboxError('E_NOT_FOUND', 'not found');
  const st = await stat(file);
  if (!st.isFile() || st.size > 16 * 1024 * 1024) throw new ImageboxError('E_NOT_FOUND', 'not found');
  const body = new Uint8Array(await readFile(file));
  return { status: 200, headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=300' }, body };
}
