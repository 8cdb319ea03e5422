// A WebSocket client over a raw TCP socket (RFC 6455), for what a polite
// client library will not do: stop reading, send malformed or oversized
// frames, flood. Frames from the server are parsed as they arrive.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawFrame {
  opcode: number;
  payload: Buffer;
}

export class RawWebSocket {
  readonly frames: RawFrame[] = [];
  closed = false;
  closeCode: number | undefined;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {}

  static open(port: number, path = '/stream', protocol = 'imagebox.v1'): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const key = randomBytes(16).toString('base64');
      socket.once('error', reject);
      socket.on('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
        );
      });
      let head = Buffer.alloc(0);
      const onHead = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        const status = head.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(status)) {
          reject(new Error(`no upgrade: ${status.split('\r\n')[0]}`));
          socket.destroy();
          return;
        }
        const ws = new RawWebSocket(socket);
        ws.feed(head.subarray(end + 4));
        socket.on('data', (x: Buffer) => ws.feed(x));
        socket.on('close', () => {
          ws.closed = true;
          ws.wake();
        });
        socket.on('error', () => undefined);
        resolve(ws);
      };
      socket.on('data', onHead);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private feed(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let o = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        o = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        o = 10;
      }
      if (this.buf.length < o + len) return;
      const payload = Buffer.from(this.buf.subarray(o, o + len));
      this.buf = this.buf.subarray(o + len);
      if (opcode === 8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (opcode === 9) this.sendFrame(10, payload); // ping -> pong
      this.frames.push({ opcode, payload });
      this.wake();
    }
  }

  /** A masked frame (clients must mask), opcode 2 = binary, 1 = text. */
  sendFrame(opcode: number, payload: Uint8Array): void {
    const mask = randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; i++) body[i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(Buffer.concat([head, mask, body]));
  }

  send(payload: Uint8Array): void {
    this.sendFrame(2, payload);
  }

  /** Wait until `pred` holds over the frames received (or the socket closes, or `ms` passes). */
  async until(pred: (frames: RawFrame[]) => boolean, ms = 5000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred(this.frames)) {
      if (this.closed || Date.now() > end) return pred(this.frames);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return true;
  }

  /** Stop reading: the kernel buffers fill, then the server's. */
  stopReading(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
