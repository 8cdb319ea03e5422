// Set by web/build.mjs: import.meta.url in the ES module bundle, undefined in the classic scripts.
declare const IMAGEBOX_MODULE_URL: string | undefined;
