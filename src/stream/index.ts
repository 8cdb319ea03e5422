// Browser entry of `imagebox/stream`: the client over the platform's WebSocket.
export * from './client.js';
export * from './protocol.js';
