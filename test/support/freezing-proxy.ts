// A TCP proxy in front of Redis that can freeze its open connections: bytes stop flowing but nothing is closed, the way
// a connection dies behind a NAT or a failed-over load balancer. Connections made after a freeze flow normally.
import type { Server, Socket } from 'node:net';
import { startProxyServer } from './proxy-server.js';

export class FreezingProxy {
  private live = new Set<[Socket, Socket]>();
  private readonly frozen: [Socket, Socket][] = [];
  private server?: Server;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    const pairs = new Map<Socket, [Socket, Socket]>();
    ({ server: this.server, port: this.port } = await startProxyServer(
      this.targetPort,
      (client, upstream) => {
        const pair: [Socket, Socket] = [client, upstream];
        pairs.set(client, pair);
        this.live.add(pair);
        client.pipe(upstream);
        upstream.pipe(client);
      },
      (client) => {
        const pair = pairs.get(client);
        if (pair) this.live.delete(pair);
        pairs.delete(client);
      },
    ));
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
