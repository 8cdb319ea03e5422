// OpenJPEG's and CharLS's Emscripten factories (no types of their own).
// OpenJPEG: src/codecs/jpeg2000.ts says what it returns.
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (opts: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}

// CharLS's (JPEG-LS) Emscripten factory; src/codecs/jpegls.ts says what it returns.
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (opts: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
