// The files (instances) of one DICOM WSI series -> one joined source and the
// slide layout over it. Every header is read at once (one growing window per
// file, in parallel), then every instance's frames are located (tables inside
// the header window cost nothing; a Basic Offset Table costs one small read for
// the last frame's length). Instances are ordered by Instance Number, then by
// where they came from, so a worker reopening the same list sees the same
// joined address space. Isomorphic.
import { ImageboxError, asImageboxError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { JoinedSource } from '../../io/joined-source.js';
import { T, num, readDicomHeader, type DicomHeader, type DicomReadOptions } from './data-set.js';
import { dicomLayout, instanceImage, type DicomLayout, type DicomInstance } from './dicom-layout.js';
import { frameTable } from './frames.js';

/** Most files one slide may join. */
export const MAX_INSTANCES = 4096;

export interface DicomSeries {
  source: JoinedSource;
  layout: DicomLayout;
  size: number;
}

export async function openDicomSeries(sources: ByteSource[], options: DicomReadOptions = {}, signal?: AbortSignal): Promise<DicomSeries> {
  if (sources.length === 0) throw new ImageboxError('E_NOT_A_SLIDE', 'no DICOM files');
  if (sources.length > MAX_INSTANCES) throw new ImageboxError('E_TOO_LARGE', `${sources.length} DICOM files in one slide (at most ${MAX_INSTANCES})`);
  const headers: DicomHeader[] = await Promise.all(
    sources.map((s, i) =>
      readDicomHeader(s, options, signal).catch((e: unknown) => {
        const err = asImageboxError(e, 'E_MALFORMED');
        throw new ImageboxError(err.code, sources.length > 1 ? `DICOM file ${i + 1} of ${sources.length}: ${err.message}` : err.message, err.details, e);
      }),
    ),
  );
  const order = headers.map((h, i) => ({ h, i, n: num(h.dataSet, T.InstanceNumber) ?? Number.MAX_SAFE_INTEGER }));
  order.sort((a, b) => a.n - b.n || a.i - b.i);
  const parts = order.map(({ h, i }) => ({ source: sources[i]!, size: h.size }));
  const joined = new JoinedSource(parts);
  const tables = await Promise.all(
    order.map(({ h, i }) => {
      const img = instanceImage(h);
      return frameTable(sources[i]!, h, img.frames, img.frameBytes, signal);
    }),
  );
  const instances: DicomInstance[] = order.map(({ h }, k) => ({ header: h, table: tables[k]!, base: joined.base(k) }));
  const layout = dicomLayout(instances);
  return { source: joined, layout, size: await joined.size() };
}
