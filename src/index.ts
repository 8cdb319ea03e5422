// Library entry (Node): open slides from paths and URLs; the isomorphic core for the rest.
export { openSlide, openDicomWebSlide, type NodeOpenSlideOptions, type NodeDicomWebOptions } from './node/open-slide.js';
export { Slide, type SlideDescription, type AssociatedImage } from './slide/slide.js';
export type { Level } from './slide/types.js';
export { Compression, Photometric, type EncodedTile } from './contracts/tile.js';
export type { RGBA, PixelReader } from './contracts/pixels.js';
export { ImageboxError, isImageboxError, httpStatus, type ErrorCode } from './errors.js';
export * from './io/index.js';
export { FileSource } from './io/file-source.js';
export { openByteSource } from './io/open-source-node.js';
export { DiskOpenCache, defaultOpenCacheDir, type DiskOpenCacheOptions } from './node/open-cache-disk.js';
