// A TCP proxy in front of Redis that can freeze its open connections: bytes stop flowing but nothing is closed, the way
// a connection dies behind a NAT or a failed-over load balancer. Connections made after a freeze flow normally.
// `thaw()` lets frozen connections flow again (a paused process resuming); `latency` delays every chunk each way.
import { createServer, type Server, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export class FreezingProxy {
  private live = new Set<[Socket, Socket]>();
  private frozen: [Socket, Socket][] = [];
  private server?: Server;
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly latency = 0,
  ) {}

  /** Forwards `from` to `to`, each chunk `latency` ms late (timers of one delay fire in order, so order is kept). */
  private forward(from: Readable, to: Writable): void {
    if (this.latency === 0) {
      from.pipe(to);
      return;
    }
    from.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, this.latency);
    });
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.live.add(pair);
      this.forward(client, upstream);
      this.forward(upstream, client);
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

  /** Lets the frozen connections flow again, with what was sent meanwhile (as a paused process that resumes). */
  thaw(): number {
    const thawed = this.frozen;
    this.frozen = [];
    for (const pair of thawed) {
      const [client, upstream] = pair;
      if (client.destroyed || upstream.destroyed) continue;
      if (this.latency === 0) {
        client.pipe(upstream);
        upstream.pipe(client);
      }
      client.resume();
      upstream.resume();
      this.live.add(pair);
    }
    return thawed.length;
  }

  async stop(): Promise<void> {
    for (const [client, upstream] of [...this.live, ...this.frozen]) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
