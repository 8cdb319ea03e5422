// One breaker per origin, shared by every source reading from it: after
// `threshold` transport failures in a row (connections refused or reset,
// timeouts, 5xx), the origin is "open": reads fail at once with E_ORIGIN
// instead of tying up requests, connections and the pixel pool for a dead
// host. After `coolDownMs` one probe request goes through (half-open); its
// success closes the breaker, its failure opens it again for twice as long
// (at most maxCoolDownMs). Lying answers (a wrong Content-Range, say) are not
// transport failures: an origin that answers is not dead. Isomorphic.

export interface CircuitBreakerOptions {
  /** Transport failures in a row that open the breaker (default 10). */
  threshold?: number;
  /** First open period (ms; default 5000). */
  coolDownMs?: number;
  /** Longest open period (ms; default 60000). */
  maxCoolDownMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export type Gate = { pass: true; probe: boolean } | { pass: false; retryInMs: number };

export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private coolDown: number;
  private probing = false;
  private readonly threshold: number;
  private readonly baseCoolDown: number;
  private readonly maxCoolDown: number;
  private readonly now: () => number;

  constructor(o: CircuitBreakerOptions = {}) {
    this.threshold = Math.max(1, o.threshold ?? 10);
    this.baseCoolDown = this.coolDown = Math.max(1, o.coolDownMs ?? 5000);
    this.maxCoolDown = Math.max(this.baseCoolDown, o.maxCoolDownMs ?? 60_000);
    this.now = o.now ?? (() => Date.now());
  }

  /** 'closed' (serving), 'open' (failing fast) or 'half-open' (one probe allowed or in flight). */
  get state(): 'closed' | 'open' | 'half-open' {
    if (this.failures < this.threshold) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half-open';
  }

  /** May a request go to the origin now? A half-open breaker lets one probe through. */
  gate(): Gate {
    if (this.failures < this.threshold) return { pass: true, probe: false };
    const t = this.now();
    if (t < this.openUntil || this.probing) return { pass: false, retryInMs: Math.max(0, this.openUntil - t) };
    this.probing = true;
    return { pass: true, probe: true };
  }

  /** The origin answered (whatever it said). */
  success(): void {
    this.failures = 0;
    this.probing = false;
    this.coolDown = this.baseCoolDown;
  }

  /** A connection failed, timed out or got a 5xx. */
  failure(probe: boolean): void {
    this.failures++;
    if (probe) {
      this.probing = false;
      this.coolDown = Math.min(this.maxCoolDown, this.coolDown * 2);
      this.openUntil = this.now() + this.coolDown;
    } else if (this.failures === this.threshold) {
      this.openUntil = this.now() + this.coolDown;
    }
  }

  /** Failing fast now (open, not yet due for a probe)? Asks nothing of the breaker. */
  isOpen(): boolean {
    return this.failures >= this.threshold && this.now() < this.openUntil;
  }

  /**
   * The outcome of work done elsewhere against this origin (a pixel worker's
   * job, with its own reads and retries): a failure to reach it counts as one,
   * and while open or half-open re-opens it for twice as long, as a failed
   * probe does; a success while half-open closes it.
   */
  record(ok: boolean): void {
    if (ok) {
      if (this.failures >= this.threshold && !this.isOpen()) this.success();
      return;
    }
    if (this.failures >= this.threshold) {
      if (this.isOpen()) return;
      this.failures++;
      this.coolDown = Math.min(this.maxCoolDown, this.coolDown * 2);
      this.openUntil = this.now() + this.coolDown;
      return;
    }
    this.failure(false);
  }

  /** A probe that ended without a verdict (the caller aborted): let another one try. */
  release(probe: boolean): void {
    if (probe) this.probing = false;
  }
}

/** Breakers by origin (scheme://host:port), bounded: the least recently used beyond `max` are forgotten. */
export class CircuitBreakers {
  private readonly byOrigin = new Map<string, CircuitBreaker>();
  constructor(
    private readonly options: CircuitBreakerOptions = {},
    private readonly max = 1024,
  ) {}

  for(origin: string): CircuitBreaker {
    let b = this.byOrigin.get(origin);
    if (b) {
      this.byOrigin.delete(origin);
    } else {
      b = new CircuitBreaker(this.options);
    }
    this.byOrigin.set(origin, b);
    if (this.byOrigin.size > this.max) this.byOrigin.delete(this.byOrigin.keys().next().value!);
    return b;
  }
}

/** The process-wide breakers (one per origin) that HttpSource uses unless given others. */
export const sharedBreakers = new CircuitBreakers();
