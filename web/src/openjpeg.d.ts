// OpenJPEG's Emscripten factory (no types of its own); src/codecs/jpeg2000.ts says what it returns.
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (opts: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
