// A TCP proxy on 127.0.0.1 that paces the bytes from the server to the client
// at a fixed rate: a slow link, for tests of what the server does about one.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Throttle {
  port: number;
  close(): Promise<void>;
}

export function startThrottle(targetPort: number, bytesPerSecond: number): Promise<Throttle> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(up);
    client.pipe(up);
    const queue: Buffer[] = [];
    let queued = 0;
    const tick = 10; // ms
    const perTick = Math.max(1, Math.floor((bytesPerSecond * tick) / 1000));
    const timer = setInterval(() => {
      let budget = perTick;
      while (budget > 0 && queue.length > 0) {
        const b = queue[0]!;
        const n = Math.min(budget, b.length);
        client.write(b.subarray(0, n));
        if (n === b.length) queue.shift();
        else queue[0] = b.subarray(n);
        budget -= n;
        queued -= n;
      }
      // hold the server back once 1 MiB waits here (TCP-like backpressure)
      if (queued < 1 << 20) up.resume();
    }, tick);
    up.on('data', (d: Buffer) => {
      queue.push(d);
      queued += d.length;
      if (queued >= 1 << 20) up.pause();
    });
    const end = (): void => {
      clearInterval(timer);
      client.destroy();
      up.destroy();
    };
    up.on('close', end);
    client.on('close', end);
    up.on('error', end);
    client.on('error', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}
