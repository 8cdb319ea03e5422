# imagebox on workerd (Cloudflare's Workers runtime, from npm), locally:
#   npm run build:serverless        # dist/serverless-bundle/{worker.js,kernels.wasm}
#   npx workerd serve deploy/workerd/config.capnp
# then http://127.0.0.1:8787/iiif/3/demo/info.json. Embed paths are relative to
# this file. Edit SLIDES (id -> URL of a server that honours Range).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .imagebox),
    # Outbound fetch: workerd's default network allows public addresses only.
    # An origin on this machine or a private network needs "private" / "local";
    # leave them out in production (no fetches into your own network).
    (name = "origins", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const imagebox :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "../../dist/serverless-bundle/worker.js"),
    # a module import: the runtime hands the worker a compiled WebAssembly.Module
    (name = "kernels.wasm", wasm = embed "../../dist/serverless-bundle/kernels.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  # node:crypto (ETag hashes), node:events and Buffer
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
    (name = "SLIDES", text = "{\"demo\": \"http://127.0.0.1:8080/slides/aperio-jpeg.svs\"}"),
    # (name = "ALLOW", text = "[\"https://slides.example.org/public/\"]"),
  ],
  globalOutbound = "origins",
);
