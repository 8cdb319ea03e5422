// The slide model's own contract with everything above it (server, stream,
// viewer), like Viv's PixelSource: one resolution of the pyramid.

/** One resolution of the pyramid. */
export interface Level {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  /** Level-0 pixels per pixel of this level; OpenSlide's (w0/w + h0/h) / 2. */
  downsample: number;
  /** Tiles across and down. */
  cols: number;
  rows: number;
}
