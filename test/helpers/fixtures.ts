// The WSI fixtures copied into test/fixtures/wsi and their manifest (see its README).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WSI_DIR = fileURLToPath(new URL('../fixtures/wsi/', import.meta.url));

export interface ManifestLevel {
  width: number;
  height: number;
  tile_width: number;
  tile_height: number;
  downsample: number;
}

export interface ManifestIfd {
  index: number | string;
  offset: number;
  width: number;
  height: number;
  tiled: boolean;
  compression: number;
  photometric: number;
  subfiletype: number;
  samples: number;
  predictor: number;
  tile?: [number, number];
  rowsperstrip?: number;
  subifd_of?: number;
  segments: number;
}

export interface ManifestReference {
  name: string;
  call: string;
  args: Record<string, unknown>;
  png: string;
  width: number;
  height: number;
  integer_level_coords?: boolean;
  suspect?: boolean;
  level?: number;
}

export interface ManifestFile {
  file: string;
  size: number;
  sha256: string;
  tiff?: { byteorder: string; bigtiff: boolean; ifds: ManifestIfd[] };
  openslide: {
    openable: boolean;
    vendor?: string;
    open_error?: string;
    levels?: ManifestLevel[];
    associated_images?: Record<string, [number, number]>;
    mpp_x?: number | null;
    mpp_y?: number | null;
    objective_power?: string | null;
    properties?: Record<string, string>;
    references?: ManifestReference[];
  };
  vips?: { references?: ManifestReference[] };
}

export const manifest: { files: ManifestFile[] } = JSON.parse(readFileSync(`${WSI_DIR}manifest.json`, 'utf8'));

/** Manifest entries whose file was copied here. */
export function presentFixtures(): ManifestFile[] {
  return manifest.files.filter((f) => existsSync(WSI_DIR + f.file));
}

export function fixture(name: string): ManifestFile {
  const f = manifest.files.find((x) => x.file === name);
  if (!f) throw new Error(`no fixture ${name} in the manifest`);
  return f;
}

export function fixturePath(name: string): string {
  return WSI_DIR + name;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * aperio-jpeg-truncated.svs is the first 30 % of aperio-jpeg.svs; it is cut here
 * rather than stored, and checked against the manifest's sha256.
 */
export function truncatedAperio(): Uint8Array {
  const spec = fixture('aperio-jpeg-truncated.svs');
  const bytes = readFileSync(fixturePath('aperio-jpeg.svs')).subarray(0, spec.size);
  if (sha256(bytes) !== spec.sha256) throw new Error('cut of aperio-jpeg.svs does not match the truncated fixture');
  return bytes;
}
