// A TCP proxy in front of Redis that can freeze its open connections: bytes stop flowing but nothing is closed, the way
// a connection dies behind a NAT or a failed-over load balancer. Connections made after a freeze flow normally.
import { createServer, type Server, Socket } from 'node:net';

export class FreezingProxy {
  private live = new Set<[Socket, Socket]>();
  private readonly frozen: [Socket, Socket][] = [];
  private server?: Server;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.live.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = (): void => {
        this.live.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const socket of pair) {
        socket.on('error', drop);
        socket.on('close', drop);
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops forwarding on every open connection without closing any; returns how many were frozen. */
  freeze(): number {
    for (const pair of this.live) {
      const [client, upstream] = pair;
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.frozen.push(pair);
    }
    const count = this.live.size;
    this.live = new Set();
    return count;
  }

  async stop(): Promise<void> {
    for (const [client, upstream] of [...this.live, ...this.frozen]) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
