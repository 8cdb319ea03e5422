// The classic-script bundle (viewer.js): window.imagebox = { createViewer, boot, viewer }.
import { boot } from './page.js';
import { createViewer, type Viewer } from './viewer.js';

declare global {
  interface Window {
    imagebox: { createViewer: typeof createViewer; boot: (el: HTMLElement) => Viewer | undefined; viewer?: Viewer };
  }
}

window.imagebox = {
  createViewer,
  boot(el) {
    const v = boot(el);
    window.imagebox.viewer = v;
    return v;
  },
};
