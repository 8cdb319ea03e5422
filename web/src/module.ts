// `imagebox/viewer` (viewer.mjs): the embedding API as an ES module.
export { createViewer, type Viewer, type ViewerOptions, type ViewerStats, type OverlayHandle } from './viewer.js';
export { optionsFromLocation } from './page.js';
