// HttpTransport over the WHATWG fetch API (browser, Web Worker, Deno, Node).
// Redirects are requested as 'manual' so HttpSource sees every hop. A browser
// hides the target of a manual redirect (an 'opaqueredirect' with status 0):
// that is reported as status 0 and HttpSource refuses it, unless the transport
// is told to let the browser follow redirects (then the browser applies its own
// rules: it drops Authorization on cross-origin hops).
import type { HttpTransport, TransportRequest, TransportResponse } from './http-transport.js';

export interface FetchTransportOptions {
  fetch?: typeof globalThis.fetch;
  /** Let fetch follow redirects itself (browsers only expose redirects this way). Default false. */
  followRedirects?: boolean;
  /** Extra RequestInit fields (credentials, mode, cache ...). */
  init?: Omit<RequestInit, 'method' | 'headers' | 'signal' | 'redirect' | 'body'>;
}

export class FetchTransport implements HttpTransport {
  private readonly fetchFn: typeof globalThis.fetch;

  constructor(private readonly options: FetchTransportOptions = {}) {
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(req.signal.reason);
    if (req.signal.aborted) onAbort();
    else req.signal.addEventListener('abort', onAbort, { once: true });
    const res = await this.fetchFn(req.url, {
      ...this.options.init,
      method: req.method,
      headers: req.headers,
      signal: ac.signal,
      redirect: this.options.followRedirects ? 'follow' : 'manual',
    });
    const stream = res.body;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const done = (): void => req.signal.removeEventListener('abort', onAbort);
    const body: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        if (!stream) return;
        reader = stream.getReader();
        try {
          for (;;) {
            const { value, done: end } = await reader.read();
            if (end) return;
            if (value) yield value;
          }
        } finally {
          reader.releaseLock();
          done();
        }
      },
    };
    return {
      status: res.type === 'opaqueredirect' ? 0 : res.status,
      header: (name) => res.headers.get(name) ?? undefined,
      body,
      abort(): void {
        ac.abort();
        done();
      },
      async discard(): Promise<void> {
        ac.abort();
        done();
      },
    };
  }
}
