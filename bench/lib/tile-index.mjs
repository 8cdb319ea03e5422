// Where each tile's stored bytes are, read with our own reader (dist/): the
// slide's levels and, per level, the offset and byte count of every tile
// (TileOffsets / TileByteCounts), loaded whole by warmLevel. Our replacement
// for ../shared/tools/tile-index.mjs.
import { openSlide } from '../../dist/index.js';

/** levels: which levels to index (default all). Returns { levels, range(level, col, row) -> { offset, length } | undefined, bytes(level, col, row) }. */
export async function tileIndex(where, { levels } = {}) {
  const slide = await openSlide(where);
  try {
    const want = levels ?? slide.levels.map((_, i) => i);
    const tables = [];
    for (const level of want) {
      await slide.warmLevel(level);
      const l = slide.levels[level];
      const offsets = new Float64Array(l.cols * l.rows);
      const lengths = new Float64Array(l.cols * l.rows);
      for (let r = 0; r < l.rows; r++) {
        for (let c = 0; c < l.cols; c++) {
          const t = slide.tileByteRange(level, c, r);
          if (t) {
            offsets[r * l.cols + c] = t.offset;
            lengths[r * l.cols + c] = t.length;
          }
        }
      }
      tables[level] = { offsets, lengths };
    }
    const levelsOut = slide.levels.map((l) => ({ ...l }));
    const range = (level, col, row) => {
      const t = tables[level];
      const l = levelsOut[level];
      if (!t || col < 0 || row < 0 || col >= l.cols || row >= l.rows) return undefined;
      const i = row * l.cols + col;
      return t.lengths[i] > 0 ? { offset: t.offsets[i], length: t.lengths[i] } : undefined;
    };
    return { levels: levelsOut, vendor: slide.vendor, range, bytes: (level, col, row) => range(level, col, row)?.length ?? 0 };
  } finally {
    await slide.close();
  }
}
