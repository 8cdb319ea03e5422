// Node only: the DICOM instances in a folder (one series = one slide). A file
// counts when it carries the Part 10 magic ("DICM" at byte 128), whatever its
// name; hidden files and subfolders are not looked at. Sorted by name, so every
// thread that opens the folder joins its files in the same order.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageboxError } from '../errors.js';
import { isDicom } from '../formats/dicom/data-set.js';
import { MAX_INSTANCES } from '../formats/dicom/dicom-series.js';

/** Whether a file starts like a DICOM Part 10 file (one 132-byte read). */
export async function isDicomFile(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
    const head = new Uint8Array(132);
    const { bytesRead } = await fh.read(head, 0, 132, 0);
    return bytesRead === 132 && isDicom(head);
  } catch {
    return false;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** The DICOM files directly in `dir` (absolute paths), or [] when there are none. */
export async function dicomFolderFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const name of names) {
    const p = join(dir, name);
    if (await isDicomFile(p)) {
      if (out.length >= MAX_INSTANCES) throw new ImageboxError('E_TOO_LARGE', `more than ${MAX_INSTANCES} DICOM files in one folder`);
      out.push(p);
    }
  }
  return out;
}

/** Whether `dir` directly holds at least one DICOM file (stops at the first). */
export async function hasDicomFile(dir: string): Promise<boolean> {
  const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const d of names) if (d.isFile() && !d.name.startsWith('.') && (await isDicomFile(join(dir, d.name)))) return true;
  return false;
}
