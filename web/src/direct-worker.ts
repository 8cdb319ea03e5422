// The direct-mode Web Worker: no tile server. It reads the slide from its URL
// with range requests (src/browser.ts: fetch + RangeScheduler), decodes with
// the same kernels.wasm (and OpenJPEG for JPEG 2000) and answers the viewer in
// imagebox.v1 through the very session the server runs (src/stream/session.ts),
// so the prefetch rules are the same.
import { openSlide } from '../../src/browser.js';
import { Jpeg2000Decoder, type OpenJpegFactory } from '../../src/codecs/jpeg2000.js';
import { Kernels } from '../../src/codecs/kernels.js';
import { pixelReader } from '../../src/codecs/pixel-reader.js';
import { encodeJpeg } from '../../src/codecs/jpeg-encode.js';
import { LocalStreamHost } from '../../src/stream/local-host.js';
import { StreamSession } from '../../src/stream/session.js';
// the Emscripten factories of OpenJPEG's and CharLS's WASM decoders (their .wasm fetched from the URLs the page gives, on first use)
import openjpegFactory from '@cornerstonejs/codec-openjpeg/decodewasmjs';
import charlsFactory from '@cornerstonejs/codec-charls/decodewasmjs';
import { JpegLsDecoder, type CharlsFactory } from '../../src/codecs/jpegls.js';

const ctx = self as unknown as { postMessage(m: unknown, t?: Transferable[]): void; onmessage: ((e: MessageEvent) => void) | null };
let session: StreamSession | undefined;

async function init(kernelsUrl: string, openjpegUrl: string, charlsUrl: string | undefined): Promise<void> {
  const k = await Kernels.fromBytes(await (await fetch(kernelsUrl)).arrayBuffer());
  let j2k: Promise<Jpeg2000Decoder> | undefined;
  let jls: Promise<JpegLsDecoder> | undefined;
  const pixels = pixelReader({
    kernels: k,
    jpeg2000: () =>
      (j2k ??= fetch(openjpegUrl)
        .then((r) => r.arrayBuffer())
        .then((wasmBinary) => Jpeg2000Decoder.create(openjpegFactory as unknown as OpenJpegFactory, { wasmBinary }))),
    ...(charlsUrl
      ? {
          jpegls: () =>
            (jls ??= fetch(charlsUrl)
              .then((r) => r.arrayBuffer())
              .then((wasmBinary) => JpegLsDecoder.create(charlsFactory as unknown as CharlsFactory, { wasmBinary }))),
        }
      : {}),
  });
  const host = new LocalStreamHost({
    open: (url) => openSlide(url, { pixels }),
    pixels,
    encodeJpeg: (width, height, data) => encodeJpeg(k, { width, height, data }, { quality: 90 }),
  });
  session = new StreamSession(host, {
    send: (frame) => {
      const b = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
      ctx.postMessage(b.buffer, [b.buffer as ArrayBuffer]);
    },
    buffered: () => 0,
    close: () => ctx.postMessage({ type: 'close' }),
  }, { server: 'imagebox direct mode (Web Worker)' });
  ctx.postMessage({ type: 'open' });
}

ctx.onmessage = (e: MessageEvent) => {
  const d = e.data as ArrayBuffer | { type: string; kernels: string; openjpeg: string; charls?: string };
  if (d instanceof ArrayBuffer) {
    session?.onMessage(new Uint8Array(d));
    return;
  }
  if (d.type === 'init') {
    init(d.kernels, d.openjpeg, d.charls).catch((err: unknown) => ctx.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
  }
};
