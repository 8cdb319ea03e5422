// Start the whole server: registry + pixel pool + handlers behind uWS.
import { createImagebox, type Imagebox, type ImageboxOptions } from './app.js';
import { listen, nativeUws } from './uws/transport.js';

export interface StartedServer {
  box: Imagebox;
  port: number;
  host: string;
  /** http://host:port as a client on this machine reaches it. */
  url: string;
  close(): Promise<void>;
}

export async function startServer(options: ImageboxOptions & { host?: string; port?: number }): Promise<StartedServer> {
  nativeUws(); // fail loudly before anything else starts
  const box = createImagebox(options);
  const host = options.host ?? '0.0.0.0';
  let l;
  try {
    l = await listen((req, signal) => box.handle(req, signal), host, options.port ?? 8080);
  } catch (e) {
    await box.close();
    throw e;
  }
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    box,
    port: l.port,
    host,
    url: `http://${shown}:${l.port}`,
    async close() {
      l.close();
      await box.close();
    },
  };
}
