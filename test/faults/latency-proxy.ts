// A TCP proxy in front of Redis that delays every chunk, each way, by a delay that can change while connections are
// open (a slow network, or a congested link for a while). Chunks keep their order whatever the delay does. A closed
// side closes the other, so a Redis restart reaches the clients as a dropped connection.
import type { Server, Socket } from 'node:net';
import { startProxyServer } from '../support/proxy-server.js';

export class LatencyProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetPort: number,
    /** ms each chunk is held before it is forwarded. */
    public delayMs: number,
  ) {}

  async start(): Promise<void> {
    ({ server: this.server, port: this.port } = await startProxyServer(
      this.targetPort,
      (client, upstream) => {
        for (const socket of [client, upstream]) this.sockets.add(socket);
        this.forward(client, upstream);
        this.forward(upstream, client);
      },
      (client, upstream) => {
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      },
    ));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Chunks wait in a queue until their time, so a delay that drops never lets a later chunk overtake. */
  private forward(from: Socket, to: Socket): void {
    const queue: { due: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      while (queue.length > 0 && queue[0].due <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0].due - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      if (this.delayMs <= 0 && queue.length === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      queue.push({ due: Date.now() + this.delayMs, chunk });
      timer ??= setTimeout(pump, this.delayMs);
    });
    from.on('close', () => clearTimeout(timer));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
