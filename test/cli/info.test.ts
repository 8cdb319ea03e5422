// `imagebox info` as a user runs it: the built CLI (npm test builds first) in a child process.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { HttpFixtures } from '../helpers/transports.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, SECRET_TOKEN: 's3cr3t' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('imagebox info', () => {
  const http = new HttpFixtures('http');
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build (npm test does)');
    await http.start();
  });
  afterAll(() => http.stop());

  it('describes a local SVS like OpenSlide', async () => {
    const { code, stdout } = await cli('info', fixturePath('aperio-jpeg.svs'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/vendor:\s+aperio/);
    expect(stdout).toMatch(/dimensions:\s+8000 x 6000/);
    expect(stdout).toMatch(/mpp:\s+0\.499 x 0\.499/);
    expect(stdout).toMatch(/thumbnail \(1024x768\), label \(387x463\), macro \(1280x431\)/);
    expect(stdout).toContain('aperio.AppMag = "20"');
  });

  it('--json --stats over HTTP: the description, and the requests and bytes of the open', async () => {
    const url = http.url('generic-pyramid-jpeg.tif');
    http.origin!.resetCounters();
    const { code, stdout } = await cli('info', url, '--json', '--stats', '--header', 'Authorization: Bearer ${SECRET_TOKEN}');
    expect(code).toBe(0);
    const d = JSON.parse(stdout);
    expect(d.vendor).toBe('generic-tiff');
    expect(d.levels.map((l: { width: number }) => l.width)).toEqual([4096, 2048, 1024, 512, 256]);
    expect(d.stats.requests).toBe(http.origin!.requests);
    expect(d.stats.bytesFetched).toBeGreaterThan(0);
    expect(d.stats.wallMs).toBeGreaterThan(0);
    // The header reached the origin, with the secret taken from the environment.
    expect(http.origin!.log.every((r) => r.headers.authorization === 'Bearer s3cr3t')).toBe(true);
    expect(stdout).not.toContain('s3cr3t');
  });

  it('--open-cache DIR: a second info of the same remote slide costs one request, the same answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagebox-info-cache-'));
    try {
      const url = http.url('aperio-jpeg.svs');
      const runs: { requests: number; d: Record<string, unknown> }[] = [];
      for (let i = 0; i < 2; i++) {
        http.origin!.resetCounters();
        const { code, stdout } = await cli('info', url, '--json', '--open-cache', dir);
        expect(code).toBe(0);
        runs.push({ requests: http.origin!.requests, d: JSON.parse(stdout) });
      }
      expect(runs[0]!.requests).toBeGreaterThan(1);
      expect(runs[1]!.requests).toBe(1);
      expect(runs[1]!.d).toEqual(runs[0]!.d);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with the typed error and a non-zero exit', async () => {
    const bad = await cli('info', fixturePath('openslide/unopenable.tiff'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/E_NOT_A_SLIDE: Unsupported TIFF compression: 52479/);
    const missing = await cli('info', '/nonexistent/slide.svs');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/E_NOT_FOUND/);
    const usage = await cli('info');
    expect(usage.code).toBe(2);
  });
});
