// Pointer, wheel and keyboard input: drag to pan (with inertia), wheel, pinch,
// double-click and keys to zoom around the pointer. It only reports intents;
// the viewer owns the view.

export interface InputTarget {
  panBy(dx: number, dy: number): void;
  zoomBy(factor: number, sx: number, sy: number, animate: boolean): void;
  /** Velocity in CSS px per ms after a drag: the viewer glides on. */
  fling(vx: number, vy: number): void;
  stop(): void;
  home(): void;
  fullscreen(): void;
  /** Arrow keys: a fraction of the viewport. */
  step(dx: number, dy: number): void;
}

export function attachInput(el: HTMLElement, t: InputTarget): () => void {
  const pointers = new Map<number, { x: number; y: number }>();
  let trail: { x: number; y: number; t: number }[] = [];
  let pinch: { d: number; mx: number; my: number } | undefined;
  const local = (e: { clientX: number; clientY: number }): { x: number; y: number } => {
    const r = el.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const pinchState = (): { d: number; mx: number; my: number } => {
    const [a, b] = [...pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
    return { d: Math.hypot(a.x - b.x, a.y - b.y), mx: (a.x + b.x) / 2, my: (a.y + b.y) / 2 };
  };

  const down = (e: PointerEvent): void => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    el.setPointerCapture?.(e.pointerId);
    pointers.set(e.pointerId, local(e));
    t.stop();
    if (pointers.size === 2) pinch = pinchState();
    trail = [{ ...local(e), t: performance.now() }];
    el.focus({ preventScroll: true });
  };
  const move = (e: PointerEvent): void => {
    const p = pointers.get(e.pointerId);
    if (!p) return;
    const q = local(e);
    if (pointers.size >= 2 && pinch) {
      pointers.set(e.pointerId, q);
      const n = pinchState();
      if (pinch.d > 0 && n.d > 0) t.zoomBy(n.d / pinch.d, n.mx, n.my, false);
      t.panBy(n.mx - pinch.mx, n.my - pinch.my);
      pinch = n;
      return;
    }
    t.panBy(q.x - p.x, q.y - p.y);
    pointers.set(e.pointerId, q);
    const now = performance.now();
    trail.push({ ...q, t: now });
    while (trail.length > 2 && now - trail[0]!.t > 100) trail.shift();
  };
  const up = (e: PointerEvent): void => {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = undefined;
    if (pointers.size === 0 && trail.length >= 2) {
      const a = trail[0]!;
      const b = trail[trail.length - 1]!;
      const dt = b.t - a.t;
      if (dt > 0 && performance.now() - b.t < 60) t.fling((b.x - a.x) / dt, (b.y - a.y) / dt);
    }
    trail = [];
  };
  const wheel = (e: WheelEvent): void => {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const p = local(e);
    t.zoomBy(Math.exp((-e.deltaY * unit) / 600), p.x, p.y, false);
  };
  const dbl = (e: MouseEvent): void => {
    const p = local(e);
    t.zoomBy(e.shiftKey ? 0.5 : 2, p.x, p.y, true);
  };
  const key = (e: KeyboardEvent): void => {
    const r = el.getBoundingClientRect();
    const cx = r.width / 2;
    const cy = r.height / 2;
    switch (e.key) {
      case '+':
      case '=':
        t.zoomBy(2, cx, cy, true);
        break;
      case '-':
      case '_':
        t.zoomBy(0.5, cx, cy, true);
        break;
      case 'ArrowLeft':
        t.step(-0.25, 0);
        break;
      case 'ArrowRight':
        t.step(0.25, 0);
        break;
      case 'ArrowUp':
        t.step(0, -0.25);
        break;
      case 'ArrowDown':
        t.step(0, 0.25);
        break;
      case '0':
      case 'Home':
        t.home();
        break;
      case 'f':
        t.fullscreen();
        break;
      default:
        return;
    }
    e.preventDefault();
  };
  el.addEventListener('pointerdown', down);
  el.addEventListener('pointermove', move);
  el.addEventListener('pointerup', up);
  el.addEventListener('pointercancel', up);
  el.addEventListener('wheel', wheel, { passive: false });
  el.addEventListener('dblclick', dbl);
  el.addEventListener('keydown', key);
  el.style.touchAction = 'none';
  return () => {
    el.removeEventListener('pointerdown', down);
    el.removeEventListener('pointermove', move);
    el.removeEventListener('pointerup', up);
    el.removeEventListener('pointercancel', up);
    el.removeEventListener('wheel', wheel);
    el.removeEventListener('dblclick', dbl);
    el.removeEventListener('keydown', key);
  };
}
