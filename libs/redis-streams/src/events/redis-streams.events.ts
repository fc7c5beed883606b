/** Connection state reported through `server.status` and `client.status`. */
export enum RedisStreamsStatus {
  CONNECTED = 'connected',
  DISCONNECTED = 'disconnected',
  RECONNECTING = 'reconnecting',
}

/** Events a server or client relays from its Redis connections (`on(event, callback)`). */
export type RedisStreamsEvents = {
  error: (err: Error) => void;
  connect: () => void;
  ready: () => void;
  reconnecting: (delayMs: number) => void;
  end: () => void;
};
