import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitBreakers } from '../../src/io/circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('opens after `threshold` transport failures in a row, fails fast while open, lets one probe through after the cool-down', () => {
    let now = 0;
    const b = new CircuitBreaker({ threshold: 3, coolDownMs: 1000, now: () => now });
    for (let i = 0; i < 2; i++) {
      expect(b.gate().pass).toBe(true);
      b.failure(false);
    }
    expect(b.state).toBe('closed');
    b.success(); // an answer resets the count
    for (let i = 0; i < 3; i++) b.failure(false);
    expect(b.state).toBe('open');
    expect(b.gate()).toEqual({ pass: false, retryInMs: 1000 });
    now = 999;
    expect(b.gate().pass).toBe(false);
    now = 1000;
    expect(b.gate()).toEqual({ pass: true, probe: true });
    expect(b.gate().pass).toBe(false); // one probe at a time
    b.failure(true); // the probe failed: open for twice as long
    expect(b.gate()).toEqual({ pass: false, retryInMs: 2000 });
    now = 3000;
    expect(b.gate()).toEqual({ pass: true, probe: true });
    b.success();
    expect(b.state).toBe('closed');
    expect(b.gate()).toEqual({ pass: true, probe: false });
  });

  it('an aborted probe lets the next caller probe; the open period is capped', () => {
    let now = 0;
    const b = new CircuitBreaker({ threshold: 1, coolDownMs: 1000, maxCoolDownMs: 3000, now: () => now });
    b.failure(false);
    now = 1000;
    expect(b.gate()).toEqual({ pass: true, probe: true });
    b.release(true);
    expect(b.gate()).toEqual({ pass: true, probe: true });
    for (let i = 0; i < 5; i++) {
      b.failure(true);
      now += 3000;
      expect(b.gate().pass).toBe(true);
    }
  });

  it('one breaker per origin, bounded', () => {
    const bs = new CircuitBreakers({}, 2);
    const a = bs.for('http://a');
    expect(bs.for('http://a')).toBe(a);
    bs.for('http://b');
    bs.for('http://c'); // a is the least recently used: forgotten
    expect(bs.for('http://a')).not.toBe(a);
  });
});
