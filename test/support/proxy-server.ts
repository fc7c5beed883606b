// The part every test proxy in front of Redis shares: a server on a free local port that opens a connection to Redis
// for each client, and closes both sides when either closes or fails. What flows between them is the caller's.
import { createServer, type Server, Socket } from 'node:net';

export interface ProxyServer {
  server: Server;
  port: number;
}

/** `onPair` wires the bytes between `client` and `upstream`; `onClose` runs once when the pair is torn down. */
export async function startProxyServer(
  targetPort: number,
  onPair: (client: Socket, upstream: Socket) => void,
  onClose: (client: Socket, upstream: Socket) => void = () => undefined,
): Promise<ProxyServer> {
  const server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(targetPort, '127.0.0.1');
    onPair(client, upstream);
    const drop = (): void => {
      onClose(client, upstream);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}
