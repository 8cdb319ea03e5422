import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('src/io is isomorphic', () => {
  it('src/io/index.ts bundles for the browser without node: modules', async () => {
    const res = await build({
      entryPoints: ['src/io/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      metafile: true,
    });
    const inputs = Object.keys(res.metafile!.inputs);
    expect(inputs.some((i) => i.includes('http-source.ts'))).toBe(true);
    expect(inputs.filter((i) => i.startsWith('node:') || i.includes('-node.ts') || i.includes('file-source'))).toEqual([]);
    expect(res.outputFiles![0]!.text).not.toMatch(/from\s*["']node:|require\(/);
  });
});
