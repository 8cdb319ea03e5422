// The rooms of src/ depend on each other in one direction only:
//   contracts, errors -> io -> formats -> slide -> codecs -> stream -> server -> node / cli
// (codecs see only the contracts; the slide gets its decoders injected). This
// reads every import of every file and fails on an arrow that runs back.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** What each room may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  contracts: [],
  errors: [],
  io: ['errors', 'contracts'],
  formats: ['errors', 'contracts', 'io'],
  slide: ['errors', 'contracts', 'io', 'formats'],
  codecs: ['errors', 'contracts'],
  stream: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs'],
  server: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs', 'stream', 'node'],
  node: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs'],
  cli: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs', 'stream', 'server', 'node'],
  // entry points
  index: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs', 'node', 'stream'],
  browser: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs', 'stream'],
  // the serverless handler and its Workers entry: the neutral server core over the browser entry's opener
  serverless: ['errors', 'contracts', 'io', 'formats', 'slide', 'codecs', 'stream', 'server', 'browser'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function roomOf(file: string): string {
  const rel = relative(SRC, file).split(/[\\/]/);
  if (rel.length === 1) return rel[0]!.replace(/\.ts$/, '');
  return rel[0]!;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    out.push(m[1] ?? m[2]!);
  }
  return out;
}

describe('src/ rooms depend in one direction', () => {
  const all = files(SRC);
  it('reads every room', () => {
    const rooms = new Set(all.map(roomOf));
    for (const r of ['contracts', 'io', 'formats', 'slide', 'codecs', 'server', 'node', 'cli']) expect(rooms.has(r), r).toBe(true);
  });
  for (const file of all) {
    const room = roomOf(file);
    it(relative(SRC, file), () => {
      expect(ALLOWED[room], `room ${room} has no rule`).toBeDefined();
      const bad: string[] = [];
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const target = roomOf(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        if (target !== room && !ALLOWED[room]!.includes(target)) bad.push(`${spec} (${room} -> ${target})`);
      }
      expect(bad).toEqual([]);
    });
  }
});
