// The viewer page (web/viewer.html, also served at /view/{id}): reads what to
// show from the URL and starts one viewer, exposed as window.imagebox.viewer.
//
//   /view/CMU-1.svs                          stream from this server (direct fallback when the slide has a public URL)
//   /t/<token>/view/CMU-1.svs, /view/CMU-1.svs?token=<token>   the same on a server with --require-token
//   viewer.html?url=https://host/CMU-1.svs   direct mode, no server at all
//   viewer.html?server=http://h:8080&slide=CMU-1.svs[&url=...]
//   &mode=direct|stream|auto   &overlay=<URL or slide id> (repeatable)   &opacity=0.5   &geojson=<URL>   &renderer=2d
import { createViewer, type Viewer, type ViewerOptions } from './viewer.js';

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** The viewer options a page URL asks for. */
export function optionsFromLocation(loc: Location): ViewerOptions {
  const q = new URLSearchParams(loc.search);
  const o: ViewerOptions = { hash: true };
  const m = /^(\/t\/[^/]+)?\/view\/(.+)$/.exec(loc.pathname);
  if (m) {
    // the token prefix stays on the server's URL: the JSON API and the stream carry it
    o.server = loc.origin + (m[1] ?? '');
    o.slide = m[2]!.split('/').map(decodeURIComponent).join('/');
  }
  if (q.get('server')) o.server = q.get('server')!;
  const token = q.get('token');
  if (token && o.server && !/\/t\/[^/]+\/?$/.test(o.server)) o.server = `${o.server.replace(/\/+$/, '')}/t/${encodeURIComponent(token)}`;
  if (q.get('slide')) o.slide = q.get('slide')!;
  if (q.get('url')) o.url = new URL(q.get('url')!, loc.href).href;
  const mode = q.get('mode');
  if (mode === 'direct' || mode === 'stream' || mode === 'auto') o.mode = mode;
  const renderer = q.get('renderer');
  if (renderer === '2d' || renderer === 'webgl2') o.renderer = renderer;
  const opacity = Number(q.get('opacity') ?? 0.5);
  o.overlays = q.getAll('overlay').map((s, i) => {
    const url = isUrl(s) || s.startsWith('/') ? new URL(s, loc.href).href : undefined;
    return { server: o.server, slide: o.server ? s : undefined, url, mode: o.mode, opacity: Number.isFinite(opacity) ? opacity : 0.5, name: `overlay ${i + 1}: ${s.split('/').pop()}` };
  });
  if (q.get('geojson')) o.geojson = new URL(q.get('geojson')!, loc.href).href;
  return o;
}

export function boot(element: HTMLElement): Viewer | undefined {
  const o = optionsFromLocation(location);
  if (!o.url && (!o.server || o.slide === undefined)) {
    element.innerHTML = '<p class="ib-message">Nothing to show: open <code>/view/{slide id}</code> on an imagebox server, or <code>viewer.html?url=&lt;slide URL&gt;</code> for a slide on any server that honours Range (with CORS).</p>';
    return undefined;
  }
  document.title = `${(o.slide ?? o.url ?? '').split('/').pop()} · imagebox`;
  const v = createViewer(element, o);
  v.ready.catch((e: unknown) => {
    const p = document.createElement('p');
    p.className = 'ib-message';
    p.textContent = `Cannot open the slide: ${e instanceof Error ? e.message : String(e)}`;
    element.append(p);
  });
  return v;
}
