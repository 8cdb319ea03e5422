// Node entry of `imagebox/stream`: the client with undici's WebSocket (Node 20
// has no global one without a flag).
import { WebSocket } from 'undici';
import { connectTileStream as connect, type TileStream, type TileStreamOptions, type WebSocketConstructor } from './client.js';

export * from './client.js';
export * from './protocol.js';

export function connectTileStream(url: string, options: TileStreamOptions = {}): Promise<TileStream> {
  return connect(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, ...options });
}
