// The core bundles for a browser / Web Worker: no node: module anywhere in it.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

async function bundle(entry: string) {
  const res = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  return { inputs: Object.keys(res.metafile!.inputs), text: res.outputFiles![0]!.text };
}

const nodeOnly = (inputs: string[]) =>
  inputs.filter((i) => i.startsWith('node:') || i.includes('-node.ts') || i.includes('file-source') || i.includes('src/node/'));

describe('the core is isomorphic', () => {
  it('src/io/index.ts bundles for the browser without node: modules', async () => {
    const { inputs, text } = await bundle('src/io/index.ts');
    expect(inputs.some((i) => i.includes('http-source.ts'))).toBe(true);
    expect(nodeOnly(inputs)).toEqual([]);
    expect(text).not.toMatch(/from\s*["']node:|require\(/);
  });

  it('src/stream/index.ts (the imagebox/stream client and protocol) bundles for the browser without node: modules', async () => {
    const { inputs, text } = await bundle('src/stream/index.ts');
    for (const part of ['client.ts', 'protocol.ts', 'tile-sets.ts']) expect(inputs.some((i) => i.endsWith(part))).toBe(true);
    expect(nodeOnly(inputs)).toEqual([]);
    expect(inputs.some((i) => i.includes('undici'))).toBe(false);
    expect(text).not.toMatch(/from\s*["']node:|require\(/);
  });

  it('src/browser.ts (io + formats + slide) bundles for the browser without node: modules', async () => {
    const { inputs, text } = await bundle('src/browser.ts');
    for (const part of ['tiff-file.ts', 'aperio.ts', 'ome-tiff.ts', 'slide.ts', 'range-scheduler.ts', 'fetch-transport.ts', 'dicom/data-set.ts', 'dicom/frames.ts', 'dicom/dicom-layout.ts', 'joined-source.ts']) {
      expect(inputs.some((i) => i.endsWith(part))).toBe(true);
    }
    expect(nodeOnly(inputs)).toEqual([]);
    expect(text).not.toMatch(/from\s*["']node:|require\(/);
  });
});
