// createViewer: the embedding API of the imagebox viewer.
//
//   const v = createViewer(element, { server: 'http://host:8080', slide: 'CMU-1.svs' });  // or { url } for direct mode
//   await v.whenIdle();           // every visible tile drawn at the resolution the view needs
//   v.getView(); v.setView({ x, y, zoom });   // x, y: level-0 pixel at the centre; zoom: screen px per level-0 px
//   v.mode;                       // 'stream' | 'direct' | 'offline'
//   v.stats();                    // { tilesDrawn, bytes, originRequests, frameMs: { p50, p95 }, ... }
//
// A canvas (WebGL2, Canvas 2D where there is none) with the slide, overlays
// (another slide in register, GeoJSON outlines), a navigator, a scale bar, a
// status panel and an info panel; the view in the URL hash when asked.
import { normalise, GeoJsonLayer } from './geojson.js';
import { attachInput } from './input.js';
import { Canvas2dRenderer, WebGl2Renderer, type Quad, type Renderer } from './renderer.js';
import { SlideLayer, type LayerSource, type Mode } from './slide-layer.js';
import { clampView, fitZoom, zoomAround, type ViewState, type Viewport } from './view.js';
import type { ChannelDisplay, ChannelInfo } from '../../src/slide/channels.js';

export interface ViewerOptions extends LayerSource {
  /** Where viewer.js, direct-worker.js, kernels.wasm and openjpeg.wasm are (default: next to this script). */
  assets?: string;
  /** Default: WebGL2 where it is hardware accelerated, else Canvas 2D; 'webgl2' insists on WebGL2 (even software), '2d' on Canvas 2D. */
  renderer?: 'webgl2' | '2d';
  /** Keep the view in location.hash (x, y, z) and start from it (default false; the viewer page sets it). */
  hash?: boolean;
  /** Slides drawn over the base one, in register (scaled to its size). */
  overlays?: (LayerSource & { opacity?: number; name?: string })[];
  /** GeoJSON (an object, or a URL to fetch) drawn as outlines. */
  geojson?: unknown;
  /** Show the panels (default true). */
  ui?: boolean;
}

export interface ViewerStats {
  mode: Mode;
  renderer: string;
  tilesReceived: number;
  tilesDrawn: number;
  bytes: number;
  cacheHits: number;
  originRequests: number;
  modeSwitches: number;
  frames: number;
  frameMs: { p50: number; p95: number };
  drawMs: { p50: number; p95: number };
}

export interface OverlayHandle {
  setOpacity(a: number): void;
  setVisible(v: boolean): void;
  readonly visible: boolean;
}

export interface Viewer {
  readonly mode: Mode;
  readonly ready: Promise<void>;
  whenIdle(timeoutMs?: number): Promise<void>;
  getView(): { x: number; y: number; zoom: number };
  setView(v: { x?: number; y?: number; zoom?: number }): void;
  stats(): ViewerStats;
  /** The canvas as RGBA (device pixels) and the view it shows. */
  snapshot(): { width: number; height: number; data: Uint8Array; view: { x: number; y: number; zoom: number }; dpr: number };
  overlays: OverlayHandle[];
  /** Multi-channel slides: the channels (names, colours, default contrast limits); undefined for RGB slides. */
  readonly channels: ChannelInfo[] | undefined;
  /** The channels shown: each enabled one with its colour and contrast limits (the slide's default until set). */
  getChannels(): ChannelDisplay | undefined;
  /** Show these channels (on/off = listed or not, colour, contrast limits [lo, hi]); resolves once the slide is reopened with them. */
  setChannels(display: ChannelDisplay): Promise<void>;
  setGeoJSON(g: unknown): void;
  /** Also pan/zoom programmatically with the same rules as the input. */
  zoomBy(factor: number, sx?: number, sy?: number): void;
  panBy(dx: number, dy: number): void;
  destroy(): Promise<void>;
}

const BG: [number, number, number] = [24, 24, 28];

function pct(a: number[], p: number): number {
  if (a.length === 0) return 0;
  const s = [...a].sort((x, y) => x - y);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(2);
}

/** Where this script was loaded from: its assets are beside it (the IIFE bundle: document.currentScript; the ESM one: import.meta.url). */
function defaultAssets(): string {
  const meta = IMAGEBOX_MODULE_URL;
  const s = meta ?? (typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null)?.src : undefined) ?? '';
  return s ? s.replace(/[^/]*$/, '') : '/';
}
const SCRIPT_BASE = defaultAssets();

export function createViewer(element: HTMLElement, o: ViewerOptions): Viewer {
  const assetsBase = (o.assets ?? SCRIPT_BASE).replace(/\/?$/, '/');
  const assets = { worker: `${assetsBase}direct-worker.js`, kernels: `${assetsBase}kernels.wasm`, openjpeg: `${assetsBase}openjpeg.wasm`, charls: `${assetsBase}charls.wasm` };
  element.classList.add('imagebox-viewer');
  element.innerHTML = '';
  const canvas = document.createElement('canvas');
  canvas.className = 'ib-canvas';
  canvas.tabIndex = 0;
  const vector = document.createElement('canvas');
  vector.className = 'ib-vector';
  element.append(canvas, vector);
  const renderer: Renderer = (o.renderer !== '2d' && WebGl2Renderer.create(canvas, o.renderer === 'webgl2')) || new Canvas2dRenderer(canvas);

  let vp: Viewport = { width: 1, height: 1, dpr: 1 };
  let view: ViewState = { cx: 0, cy: 0, zoom: 1 };
  let dirty = true;
  let raf = 0;
  let destroyed = false;
  let velocity: { vx: number; vy: number; t: number } | undefined;
  let anim: { from: ViewState; to: ViewState; t0: number; ms: number } | undefined;
  let lastFrame = 0;
  let motion = { vx: 0, vy: 0 };
  const frameTimes: number[] = [];
  const drawTimes: number[] = [];
  let frames = 0;
  let idleWaiters: { resolve: () => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> }[] = [];
  let lastMoveAt = 0;

  const requestFrame = (): void => {
    dirty = true;
    if (!raf && !destroyed) raf = requestAnimationFrame(frame);
  };
  // a smaller copy of a tile is ready: draw again, but the view was complete already (not dirty)
  if (renderer instanceof Canvas2dRenderer) renderer.onUpdate = () => {
    if (!raf && !destroyed) raf = requestAnimationFrame(frame);
  };
  const base = new SlideLayer(o, renderer, assets, requestFrame);
  const overlays: SlideLayer[] = (o.overlays ?? []).map((s) => {
    const l = new SlideLayer(s, renderer, assets, requestFrame);
    l.opacity = s.opacity ?? 0.5;
    return l;
  });
  let geo: GeoJsonLayer | undefined;

  // ---- ui -------------------------------------------------------------------------------
  const ui = o.ui !== false;
  const status = document.createElement('div');
  status.className = 'ib-status';
  const scalebar = document.createElement('div');
  scalebar.className = 'ib-scalebar';
  const nav = document.createElement('canvas');
  nav.className = 'ib-nav';
  const tools = document.createElement('div');
  tools.className = 'ib-tools';
  const info = document.createElement('details');
  info.className = 'ib-info';
  if (ui) element.append(status, scalebar, nav, tools, info);
  const button = (label: string, title: string, on: () => void): HTMLButtonElement => {
    const b = document.createElement('button');
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', on);
    tools.append(b);
    return b;
  };
  button('+', 'zoom in (+)', () => target.zoomBy(2, vp.width / 2, vp.height / 2, true));
  button('−', 'zoom out (-)', () => target.zoomBy(0.5, vp.width / 2, vp.height / 2, true));
  button('⌂', 'whole slide (0)', () => target.home());
  button('⛶', 'full screen (f)', () => target.fullscreen());

  const resize = (): void => {
    const r = element.getBoundingClientRect();
    vp = { width: Math.max(1, r.width), height: Math.max(1, r.height), dpr: window.devicePixelRatio || 1 };
    canvas.style.width = `${vp.width}px`;
    canvas.style.height = `${vp.height}px`;
    vector.style.width = `${vp.width}px`;
    vector.style.height = `${vp.height}px`;
    renderer.resize(Math.round(vp.width * vp.dpr), Math.round(vp.height * vp.dpr));
    requestFrame();
  };
  const ro = new ResizeObserver(resize);
  ro.observe(element);
  resize();

  const setViewState = (v: ViewState): void => {
    if (!base.info) return;
    view = clampView(base.levels, v, vp);
    lastMoveAt = performance.now();
    requestFrame();
  };

  const target = {
    panBy(dx: number, dy: number): void {
      anim = undefined;
      setViewState({ ...view, cx: view.cx - dx / view.zoom, cy: view.cy - dy / view.zoom });
    },
    zoomBy(factor: number, sx: number, sy: number, animate: boolean): void {
      if (!base.info) return;
      // a key pressed while an animation runs goes on from where that one is going
      // (+ then an arrow lands exactly on zoom x2 and the step, however fast)
      const from = animate && anim ? anim.to : view;
      const z = clampView(base.levels, { ...from, zoom: from.zoom * factor }, vp).zoom; // the zoom limits first
      const next = clampView(base.levels, zoomAround(from, vp, z / from.zoom, sx, sy), vp);
      velocity = undefined;
      if (animate) {
        anim = { from: view, to: next, t0: performance.now(), ms: 200 };
        requestFrame();
      } else {
        anim = undefined;
        setViewState(next);
      }
    },
    fling(vx: number, vy: number): void {
      if (Math.hypot(vx, vy) < 0.05) return;
      velocity = { vx, vy, t: performance.now() };
      requestFrame();
    },
    stop(): void {
      velocity = undefined;
      anim = undefined;
    },
    home(): void {
      if (!base.info) return;
      const l0 = base.levels[0]!;
      anim = { from: view, to: { cx: l0.width / 2, cy: l0.height / 2, zoom: fitZoom(base.levels, vp) }, t0: performance.now(), ms: 250 };
      requestFrame();
    },
    fullscreen(): void {
      if (document.fullscreenElement) void document.exitFullscreen();
      else void element.requestFullscreen?.();
    },
    step(fx: number, fy: number): void {
      const b = anim ? anim.to : view; // from where a running animation is going
      anim = { from: view, to: clampView(base.levels, { ...b, cx: b.cx + (fx * vp.width) / b.zoom, cy: b.cy + (fy * vp.height) / b.zoom }, vp), t0: performance.now(), ms: 150 };
      requestFrame();
    },
  };
  const detach = attachInput(canvas, target);

  // ---- the frame ---------------------------------------------------------------------
  let lastHash = 0;
  let lastSent: ViewState | undefined;
  let lastSentAt = 0;
  function frame(now: number): void {
    raf = 0;
    if (destroyed || !base.info) return;
    const moving = !!velocity || !!anim;
    if (anim) {
      const t = Math.min(1, (now - anim.t0) / anim.ms);
      const e = 1 - (1 - t) ** 3;
      const z = anim.from.zoom * (anim.to.zoom / anim.from.zoom) ** e;
      view = clampView(base.levels, { zoom: z, cx: anim.from.cx + (anim.to.cx - anim.from.cx) * e, cy: anim.from.cy + (anim.to.cy - anim.from.cy) * e }, vp);
      lastMoveAt = now;
      if (t >= 1) anim = undefined;
    } else if (velocity) {
      const dt = Math.min(50, now - (lastFrame || now));
      const decay = Math.exp(-dt / 325);
      view = clampView(base.levels, { ...view, cx: view.cx - (velocity.vx * dt) / view.zoom, cy: view.cy - (velocity.vy * dt) / view.zoom }, vp);
      velocity = { ...velocity, vx: velocity.vx * decay, vy: velocity.vy * decay };
      lastMoveAt = now;
      if (Math.hypot(velocity.vx, velocity.vy) < 0.02) velocity = undefined;
    }
    if (lastFrame && now - lastFrame < 200 && (moving || now - lastMoveAt < 100)) {
      frameTimes.push(now - lastFrame);
      if (frameTimes.length > 2000) frameTimes.splice(0, 1000);
    }
    lastFrame = now;
    // motion (level-0 px per second) from the last view sent: for the server's prefetch
    if (lastSent && now > lastSentAt) {
      const dt = (now - lastSentAt) / 1000;
      if (lastSent.zoom === view.zoom) motion = { vx: (view.cx - lastSent.cx) / dt, vy: (view.cy - lastSent.cy) / dt };
      else motion = { vx: 0, vy: 0 };
    }
    lastSent = view;
    lastSentAt = now;
    base.request(view, vp, motion);
    for (const l of overlays) l.request(view, vp, motion);
    const t0 = performance.now();
    const quads: Quad[] = [];
    let allDrawn = true;
    for (const l of [base, ...overlays]) {
      const cover = l.quads(view, vp, quads);
      allDrawn &&= cover.present === cover.needed;
    }
    renderer.draw(quads, BG);
    geo?.draw(view, vp);
    drawTimes.push(performance.now() - t0);
    if (drawTimes.length > 2000) drawTimes.splice(0, 1000);
    frames++;
    dirty = false;
    if (ui) drawUi();
    if (o.hash) writeHash();
    if (velocity || anim) requestFrame();
    checkIdle(allDrawn);
  }

  /**
   * Every visible tile of every layer drawn at the level the view needs (at
   * once when they were all in hand: no round trip); or, where some could not
   * be had (a tile error), every layer's view completed with nothing left to decode.
   */
  /** The view in location.hash: at most four times a second, and always the last one. */
  let hashTimer: ReturnType<typeof setTimeout> | undefined;
  function writeHash(): void {
    const now = performance.now();
    if (now - lastHash < 250) {
      hashTimer ??= setTimeout(() => {
        hashTimer = undefined;
        if (!destroyed) writeHash();
      }, 250 - (now - lastHash));
      return;
    }
    lastHash = now;
    const h = `#x=${Math.round(view.cx)}&y=${Math.round(view.cy)}&z=${+view.zoom.toPrecision(5)}`;
    if (location.hash !== h) history.replaceState(null, '', `${location.pathname}${location.search}${h}`);
  }

  function idleNow(allDrawn: boolean): boolean {
    if (velocity || anim || dirty) return false;
    return allDrawn || (base.settled() && overlays.every((l) => !l.visible || l.settled()));
  }

  let lastAllDrawn = false;
  function checkIdle(allDrawn: boolean): void {
    lastAllDrawn = allDrawn;
    if (!idleNow(allDrawn)) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const x of w) {
      clearTimeout(x.timer);
      x.resolve();
    }
  }

  // ---- panels --------------------------------------------------------------------------
  let lastStatus = 0;
  let lastRate: { t: number; tiles: number } | undefined;
  function drawUi(): void {
    const info0 = base.info!;
    // scale bar from MPP: a round length near 120 CSS px
    if (info0.mppX) {
      const umPerPx = info0.mppX / view.zoom;
      const target0 = umPerPx * 120;
      const p10 = 10 ** Math.floor(Math.log10(target0));
      const len = [1, 2, 5, 10].map((m) => m * p10).filter((x) => x <= target0).pop() ?? p10;
      scalebar.style.width = `${len / umPerPx}px`;
      scalebar.textContent = len >= 1000 ? `${len / 1000} mm` : `${len} µm`;
      scalebar.style.display = '';
    } else scalebar.style.display = 'none';
    drawNavigator();
    const now = performance.now();
    if (now - lastStatus > 500 || status.dataset['mode'] !== base.mode) drawStatus(now);
  }

  /** The status line: mode, renderer, tiles (and per second), bytes, cache hits, origin requests, frame time. */
  function drawStatus(now: number): void {
    lastStatus = now;
    const st = viewer.stats();
    const rate = lastRate ? ((st.tilesReceived - lastRate.tiles) * 1000) / Math.max(1, now - lastRate.t) : 0;
    lastRate = { t: now, tiles: st.tilesReceived };
    const mode = st.mode === 'offline' ? 'offline: the server is unreachable, retrying' : st.mode;
    status.textContent = `${mode} · ${st.renderer} · ${st.tilesDrawn} tiles (${rate.toFixed(0)}/s) · ${(st.bytes / 2 ** 20).toFixed(1)} MiB · ${st.cacheHits} from prefetch · ${st.originRequests} origin req · frame p95 ${st.frameMs.p95} ms`;
    status.dataset['mode'] = st.mode;
  }

  /**
   * The navigator: a picture of the whole slide, and the view on it. The
   * picture is painted once per change (not per frame): under Canvas 2D from
   * the coarsest level's tiles as they arrive; under WebGL, whose textures a 2D
   * canvas cannot draw, from an IIIF thumbnail of the server.
   */
  const navPicture = document.createElement('canvas');
  let navPainted = -1; // coarsest tiles in the picture
  /** The navigator 180 px wide, the slide's shape; resizing clears the picture. */
  function navSize(): { nw: number; nh: number; s: number } {
    const l0 = base.levels[0]!;
    const nw = 180;
    const nh = Math.max(20, Math.round((nw * l0.height) / l0.width));
    if (nav.width !== nw || nav.height !== nh) {
      nav.width = navPicture.width = nw;
      nav.height = navPicture.height = nh;
      navPainted = -1;
    }
    return { nw, nh, s: nw / l0.width };
  }
  function drawNavigator(): void {
    const { nw, nh, s } = navSize();
    if (renderer.kind === '2d') {
      const tiles = base.coarsest();
      if (tiles.length !== navPainted) {
        navPainted = tiles.length;
        const p = navPicture.getContext('2d')!;
        p.clearRect(0, 0, nw, nh);
        const top = base.levels[base.levels.length - 1]!;
        for (const h of tiles) {
          const src = (h.tex as { source?: CanvasImageSource } | undefined)?.source;
          if (src) p.drawImage(src, h.col * top.tileWidth * top.downsample * s, h.row * top.tileHeight * top.downsample * s, h.width * top.downsample * s, h.height * top.downsample * s);
        }
      }
    }
    const c = nav.getContext('2d')!;
    c.fillStyle = '#222';
    c.fillRect(0, 0, nw, nh);
    c.drawImage(navPicture, 0, 0);
    c.strokeStyle = '#ffd400';
    c.lineWidth = 1.5;
    c.strokeRect((view.cx - vp.width / 2 / view.zoom) * s, (view.cy - vp.height / 2 / view.zoom) * s, (vp.width / view.zoom) * s, (vp.height / view.zoom) * s);
  }

  async function navThumbnail(display?: ChannelDisplay): Promise<void> {
    if (!o.server || o.slide === undefined || renderer.kind !== 'webgl2') return;
    const img = new Image();
    img.crossOrigin = 'anonymous';
    // a multi-channel slide's thumbnail shows the channels shown (IIIF channel parameters)
    const hex = (c: number[]): string => c.map((v) => v.toString(16).padStart(2, '0')).join('');
    const q = display
      ? `?channels=${display.map((d) => d.index).join(',')}&colors=${display.map((d) => hex(d.color)).join(',')}&limits=${display.map((d) => d.limits.join('-')).join(',')}`
      : '';
    img.src = `${o.server.replace(/\/$/, '')}/iiif/3/${encodeURIComponent(o.slide)}/full/!360,360/0/default.jpg${q}`;
    try {
      await img.decode();
    } catch {
      return;
    }
    if (destroyed) return;
    const { nw, nh } = navSize();
    const p = navPicture.getContext('2d')!;
    p.clearRect(0, 0, nw, nh);
    p.drawImage(img, 0, 0, nw, nh);
    requestFrame();
  }
  nav.addEventListener('click', (e) => {
    const r = nav.getBoundingClientRect();
    const l0 = base.levels[0];
    if (!l0) return;
    const s = l0.width / r.width;
    anim = { from: view, to: clampView(base.levels, { ...view, cx: (e.clientX - r.left) * s, cy: (e.clientY - r.top) * s }, vp), t0: performance.now(), ms: 200 };
    requestFrame();
  });

  async function fillInfo(): Promise<void> {
    const d = base.info!;
    const summary = document.createElement('summary');
    summary.textContent = `${d.id.split('/').pop()} · ${d.width} x ${d.height}${d.mppX ? ` · ${d.mppX.toFixed(3)} µm/px` : ''}${d.objectivePower ? ` · ${d.objectivePower}x` : ''}`;
    info.append(summary);
    const body = document.createElement('div');
    info.append(body);
    if (o.server && o.slide !== undefined) {
      try {
        const r = await fetch(`${o.server.replace(/\/$/, '')}/slides/${encodeURIComponent(o.slide)}`);
        const j = (await r.json()) as { associated?: { name: string; url: string }[]; properties?: Record<string, string> };
        const imgs = document.createElement('div');
        imgs.className = 'ib-assoc';
        for (const a of j.associated ?? []) {
          const fig = document.createElement('figure');
          const im = document.createElement('img');
          im.src = a.url;
          im.alt = a.name;
          const cap = document.createElement('figcaption');
          cap.textContent = a.name;
          fig.append(im, cap);
          imgs.append(fig);
        }
        body.append(imgs);
        const table = document.createElement('table');
        for (const [k, v] of Object.entries(j.properties ?? {})) {
          const tr = document.createElement('tr');
          const a = document.createElement('th');
          a.textContent = k;
          const b = document.createElement('td');
          b.textContent = v.length > 200 ? `${v.slice(0, 200)}…` : v;
          tr.append(a, b);
          table.append(tr);
        }
        body.append(table);
      } catch {
        /* no info panel then */
      }
    }
    if (d.channels) channelPanel(d.channels);
    for (const [i, l] of overlays.entries()) {
      const row = document.createElement('label');
      row.className = 'ib-overlay';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = l.visible;
      box.addEventListener('change', () => handles[i]!.setVisible(box.checked));
      const range = document.createElement('input');
      range.type = 'range';
      range.min = '0';
      range.max = '1';
      range.step = '0.05';
      range.value = String(l.opacity);
      range.addEventListener('input', () => handles[i]!.setOpacity(Number(range.value)));
      row.append(box, document.createTextNode(` ${o.overlays?.[i]?.name ?? `overlay ${i + 1}`} `), range);
      tools.append(row);
    }
  }

  /** One row per channel: on/off, colour, contrast limits (lo, hi); a change reopens the slide with them. */
  function channelPanel(channels: ChannelInfo[]): void {
    const panel = document.createElement('div');
    panel.className = 'ib-channels';
    const hex = (c: [number, number, number]): string => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
    const rows = channels.map((c) => {
      const row = document.createElement('div');
      row.className = 'ib-channel';
      row.dataset['channel'] = String(c.index);
      const on = document.createElement('input');
      on.type = 'checkbox';
      on.checked = true;
      on.className = 'ib-ch-on';
      on.title = `show ${c.name}`;
      const color = document.createElement('input');
      color.type = 'color';
      color.value = hex(c.color);
      color.className = 'ib-ch-color';
      const limit = (v: number, cls: string, title: string): HTMLInputElement => {
        const n = document.createElement('input');
        n.type = 'number';
        n.min = '0';
        n.max = String(c.max);
        n.step = '1';
        n.value = String(v);
        n.className = cls;
        n.title = title;
        return n;
      };
      const lo = limit(c.contrastLimits[0], 'ib-ch-lo', `${c.name}: shown as black at or below`);
      const hi = limit(c.contrastLimits[1], 'ib-ch-hi', `${c.name}: shown at full colour at or above`);
      const name = document.createElement('span');
      name.textContent = ` ${c.name} `;
      row.append(on, color, name, lo, hi);
      panel.append(row);
      return { c, on, color, lo, hi };
    });
    let applying: Promise<void> = Promise.resolve();
    const apply = (): void => {
      const display: ChannelDisplay = [];
      for (const r of rows) {
        if (!r.on.checked) continue;
        const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(r.color.value);
        const lo = Math.round(Number(r.lo.value));
        const hi = Math.round(Number(r.hi.value));
        if (!m || !(lo >= 0 && hi > lo && hi <= r.c.max)) {
          r.on.parentElement?.classList.add('ib-bad');
          return;
        }
        r.on.parentElement?.classList.remove('ib-bad');
        display.push({ index: r.c.index, color: [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)], limits: [lo, hi] });
      }
      applying = applying.then(() => viewer.setChannels(display)).catch((e: unknown) => console.warn(`imagebox: channels not shown: ${e instanceof Error ? e.message : String(e)}`));
    };
    for (const r of rows) for (const el of [r.on, r.color, r.lo, r.hi]) el.addEventListener('change', apply);
    element.append(panel);
  }

  // ---- start -------------------------------------------------------------------------
  const ready = (async () => {
    await base.start();
    const d = base.info!;
    const l0 = d.levels[0]!;
    view = { cx: l0.width / 2, cy: l0.height / 2, zoom: fitZoom(d.levels, vp) };
    if (o.hash) {
      const m = /x=(-?[\d.]+)&y=(-?[\d.]+)&z=([\d.e-]+)/.exec(location.hash);
      if (m) view = clampView(d.levels, { cx: Number(m[1]), cy: Number(m[2]), zoom: Number(m[3]) }, vp);
    }
    await Promise.all(
      overlays.map(async (l) => {
        await l.start();
        l.scale = l0.width / l.levels[0]!.width;
      }),
    );
    // annotations that cannot be had do not stop the slide
    if (o.geojson !== undefined) await setGeo(o.geojson).catch((e: unknown) => console.warn(`imagebox: GeoJSON not shown: ${e instanceof Error ? e.message : String(e)}`));
    if (ui) void fillInfo();
    void navThumbnail();
    requestFrame();
  })();

  async function setGeo(g: unknown): Promise<void> {
    let data = g;
    if (typeof g === 'string') {
      const r = await fetch(g);
      if (!r.ok) throw new Error(`${r.status} for the GeoJSON`);
      data = await r.json();
    }
    if (!geo) geo = new GeoJsonLayer(vector, normalise(data));
    else geo.features = normalise(data);
    requestFrame();
  }

  const handles: OverlayHandle[] = overlays.map((l) => ({
    setOpacity(a: number) {
      l.opacity = Math.max(0, Math.min(1, a));
      requestFrame();
    },
    setVisible(v: boolean) {
      l.visible = v;
      requestFrame();
    },
    get visible() {
      return l.visible;
    },
  }));

  const viewer: Viewer = {
    get mode() {
      return base.mode;
    },
    ready,
    whenIdle(timeoutMs = 30_000) {
      return ready.then(
        () =>
          new Promise<void>((resolve, reject) => {
            if (idleNow(lastAllDrawn)) return resolve();
            const timer = setTimeout(() => {
              idleWaiters = idleWaiters.filter((x) => x.timer !== timer);
              reject(new Error(`not idle within ${timeoutMs} ms`));
            }, timeoutMs);
            idleWaiters.push({ resolve, reject, timer });
            requestFrame();
          }),
      );
    },
    getView() {
      return { x: view.cx, y: view.cy, zoom: view.zoom };
    },
    setView(v) {
      anim = undefined;
      velocity = undefined;
      setViewState({ cx: v.x ?? view.cx, cy: v.y ?? view.cy, zoom: v.zoom ?? view.zoom });
    },
    stats() {
      const all = [base, ...overlays];
      return {
        mode: base.mode,
        renderer: renderer.kind,
        tilesReceived: all.reduce((n, l) => n + l.stats.tilesReceived, 0),
        tilesDrawn: all.reduce((n, l) => n + l.stats.tilesDrawn, 0),
        bytes: all.reduce((n, l) => n + l.stats.bytes, 0),
        cacheHits: all.reduce((n, l) => n + l.stats.cacheHits, 0),
        originRequests: all.reduce((n, l) => n + l.stats.originRequests, 0),
        modeSwitches: base.stats.switches,
        frames,
        frameMs: { p50: pct(frameTimes, 50), p95: pct(frameTimes, 95) },
        drawMs: { p50: pct(drawTimes, 50), p95: pct(drawTimes, 95) },
      };
    },
    snapshot() {
      // draw now, then read what was drawn (the same task: the drawing buffer is intact)
      if (base.info) {
        const quads: Quad[] = [];
        base.quads(view, vp, quads);
        for (const l of overlays) l.quads(view, vp, quads);
        renderer.draw(quads, BG);
      }
      const r = renderer.read();
      return { ...r, view: viewer.getView(), dpr: vp.dpr };
    },
    overlays: handles,
    get channels() {
      return base.info?.channels?.map((c) => ({ ...c, color: [...c.color] as [number, number, number], contrastLimits: [...c.contrastLimits] as [number, number] }));
    },
    getChannels() {
      const ch = base.info?.channels;
      if (!ch) return undefined;
      return base.channels ?? ch.map((c) => ({ index: c.index, color: [...c.color] as [number, number, number], limits: [...c.contrastLimits] as [number, number] }));
    },
    async setChannels(display) {
      await base.setChannels(display);
      lastSent = undefined;
      requestFrame();
      void navThumbnail(display);
    },
    setGeoJSON(g) {
      setGeo(g).catch((e: unknown) => console.warn(`imagebox: GeoJSON not shown: ${e instanceof Error ? e.message : String(e)}`));
    },
    zoomBy(factor, sx = vp.width / 2, sy = vp.height / 2) {
      target.zoomBy(factor, sx, sy, false);
    },
    panBy(dx, dy) {
      target.panBy(dx, dy);
    },
    async destroy() {
      destroyed = true;
      clearInterval(poll);
      if (hashTimer) clearTimeout(hashTimer);
      if (raf) cancelAnimationFrame(raf);
      ro.disconnect();
      detach();
      await Promise.all([base, ...overlays].map((l) => l.close()));
      element.innerHTML = '';
    },
  };
  // the stream's counters for the status panel (origin requests, cache hits), every second
  const poll = setInterval(() => {
    if (destroyed) return clearInterval(poll);
    void Promise.all([base, ...overlays].map((l) => l.refreshStats())).then(() => {
      if (ui && base.info && !destroyed) drawStatus(performance.now());
    });
  }, 1000);
  return viewer;
}
