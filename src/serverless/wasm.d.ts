// A `.wasm` import on Cloudflare Workers / workerd (and esbuild's copy of it): a compiled WebAssembly.Module.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
