import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { from, Observable } from 'rxjs';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { PayloadTooLargeError } from '../errors/payload-too-large.error.js';
import { RedisStreamsStatus, type RedisStreamsEvents } from '../events/redis-streams.events.js';
import { CLIENT_DEFAULTS, type RedisStreamsClientOptions } from '../interfaces/redis-streams-options.interface.js';
import type { StreamHeaders, StreamSerializer } from '../interfaces/serialization.interface.js';
import { connectOrExplain, createRedis } from '../redis/connection.js';
import { sendCorked } from '../redis/corked-send.js';
import { detectAckedTrim, trimArgs } from '../redis/trim-policy.js';
import { JsonEntryDeserializer } from '../serialization/json-entry.deserializer.js';
import { JsonEntrySerializer } from '../serialization/json-entry.serializer.js';
import { validateClientOptions } from '../server/validate-options.js';
import { withTimeout } from '../server/with-timeout.js';
import type { ProducedOutcome } from './redis-streams-client.observer.js';
import { RedisStreamsRecord } from './redis-streams.record.js';
import { ReplicaWait } from './replica-wait.js';
import { PartitionRouter } from './partition-router.js';
import { RequestSender } from './request-sender.js';

/** How long `close()` waits for QUIT's answer before cutting the connection, in ms (as the server's close does). */
const QUIT_TIMEOUT_MS = 1000;

/**
 * Nest client for Redis Streams. `emit(stream, payload)` appends an entry (XADD) and its observable emits the entry
 * id and completes once Redis has it. The emits of one tick share one socket write and one round trip.
 */
export class RedisStreamsClient extends ClientProxy<RedisStreamsEvents> {
  protected readonly logger = new Logger(RedisStreamsClient.name);
  private readonly options: RedisStreamsClientOptions & typeof CLIENT_DEFAULTS;
  private readonly entrySerializer: StreamSerializer;
  private readonly listeners: [keyof RedisStreamsEvents, RedisStreamsEvents[keyof RedisStreamsEvents]][] = [];
  private redis?: Redis;
  /** Picks the partition of each emit to a partitioned stream (`partitions`). */
  private readonly router?: PartitionRouter;
  /** Holds emits back until their replicas confirm them (`durability`). */
  private replicaWait?: ReplicaWait;
  private connecting?: Promise<Redis>;
  /** The connection once `connect()` resolved; emits go straight to it only when none still waits for the connect. */
  private ready?: Redis;
  /** Emits chained on `connecting` that haven't been sent yet: later emits queue behind them, in call order. */
  private waiting = 0;
  private closing?: Promise<void>;
  /** Request/response state, created by the first `send()`. */
  private requests?: RequestSender;
  /** Redis trims only entries every group acknowledged (XADD … ACKED, Redis 8.2+); detected at connect. */
  private ackedTrim = false;

  constructor(options: RedisStreamsClientOptions = {}) {
    super();
    validateClientOptions(options);
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...CLIENT_DEFAULTS, ...defined };
    this.entrySerializer = options.serializer ?? new JsonEntrySerializer();
    if (options.partitions) this.router = new PartitionRouter(options.partitions);
  }

  /**
   * Connection state changes (`RedisStreamsStatus`). The class extends `ClientProxy` with Nest's default `string`
   * status so that it is a `Type<ClientProxy>`, as `ClientsModule.register([{ customClass }])` requires under `strict`.
   */
  override get status(): Observable<RedisStreamsStatus> {
    return super.status as Observable<RedisStreamsStatus>;
  }

  /** Connects once; later calls return the same connection. */
  connect(): Promise<Redis> {
    if (this.closing) return Promise.reject(new Error('RedisStreamsClient is closed; create a new one.'));
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<Redis> {
    const redis = createRedis(this.options.connection, 'commands', 'nestjs-redis-streams:client');
    let reported = false;
    redis.on('error', (err: Error) => {
      if (!reported) this.logger.error(`Redis connection error: ${err.message}`);
      reported = true;
    });
    redis.on('ready', () => {
      reported = false;
      this._status$.next(RedisStreamsStatus.CONNECTED);
    });
    redis.on('reconnecting', () => this._status$.next(RedisStreamsStatus.RECONNECTING));
    redis.on('end', () => this._status$.next(RedisStreamsStatus.DISCONNECTED));
    for (const [event, listener] of this.listeners) redis.on(event, listener);
    this.redis = redis;
    if (this.options.durability) this.replicaWait = new ReplicaWait(redis, this.options.durability);
    try {
      await connectOrExplain(redis);
    } catch (err) {
      this.connecting = undefined;
      redis.disconnect();
      throw err;
    }
    if (this.options.maxLen || this.options.maxAge) this.ackedTrim = await detectAckedTrim(redis);
    this.ready = redis;
    return redis;
  }

  /**
   * Appends `data` (or a `RedisStreamsRecord` with headers) to the stream `pattern`. The returned observable is hot:
   * the entry is written whether or not anyone subscribes; it emits the new entry's id, then completes.
   */
  override emit<TResult = string, TInput = unknown>(pattern: string, data: TInput): Observable<TResult> {
    if (pattern === undefined || pattern === null || data === undefined || data === null) {
      const error = new InvalidOptionsError(
        'data',
        'emit() takes a stream name and a payload that is not null or undefined.',
      );
      return this.observed(String(pattern), Promise.reject(error));
    }
    return this.observed(pattern, this.dispatchEvent<TResult>(this.packetOf(pattern, data)));
  }

  /**
   * The emit's result for subscribers. A rejected emit nobody subscribed to is logged (it must not crash the process
   * as an unhandled rejection, nor fail silently); a subscriber gets the error instead.
   */
  private observed<T>(pattern: string, written: Promise<T>): Observable<T> {
    let subscribed = false;
    written.catch((err: unknown) => {
      if (subscribed) return;
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error(`emit('${pattern}') failed and nobody subscribed to its result: ${message}`);
    });
    return new Observable<T>((subscriber) => {
      subscribed = true;
      return from(written).subscribe(subscriber);
    });
  }

  /**
   * Nest 12's `createPacket` also runs the dispatch hook (`setOnDispatchHook`, which may add `metadata` such as a
   * trace id); Nest 11's ClientProxy has neither, so the packet is built plainly there.
   */
  private packetOf(pattern: string, data: unknown): ReadPacket {
    const create = (this as unknown as { createPacket?: (pattern: unknown, data: unknown) => ReadPacket }).createPacket;
    return typeof create === 'function' ? create.call(this, pattern, data) : { pattern, data };
  }

  /** Like `emit`, as a promise of the entry id. */
  async dispatch(stream: string, data: unknown, headers?: StreamHeaders): Promise<string> {
    return this.dispatchEvent<string>({
      pattern: stream,
      data: headers ? new RedisStreamsRecord(data, headers) : data,
    });
  }

  /** Not `async`: one promise per emit, the XADD's own (a failure before it still rejects, never throws). */
  protected override dispatchEvent<T = string>(packet: ReadPacket): Promise<T> {
    const observer = this.options.observer;
    if (!observer?.producing) return this.append<T>(packet);
    const headers: StreamHeaders = {};
    const end = observer.producing(String(packet.pattern), 'emit', headers);
    const appended = this.append<T>(withTraceHeaders(packet, headers));
    if (end)
      appended.then(
        (id) => end({ id: String(id) }),
        (error: unknown) => end({ error }),
      );
    return appended;
  }

  private append<T>(packet: ReadPacket): Promise<T> {
    try {
      if (typeof packet.pattern !== 'string' || packet.pattern.length === 0) {
        throw new InvalidOptionsError(
          'pattern',
          `emit() takes the stream name as a non-empty string, got ${JSON.stringify(packet.pattern)}.`,
        );
      }
      const stream = packet.pattern;
      const [key, fields] = this.entryOf(stream, packet);
      // The trimming arguments are taken at send time: they depend on Redis's version, known once connected. A
      // durable emit's XADD is sent by the replica wait, which must know the connection that ran it.
      const send = (connected: Redis): Promise<T> =>
        this.replicaWait
          ? (this.replicaWait.append(stream, key, [...this.trimArgs(), '*', ...fields]) as Promise<T>)
          : sendCorked<T>(connected, 'xadd', [key, ...this.trimArgs(), '*', ...fields]);
      const direct = this.ready && this.connecting && this.waiting === 0 ? this.ready : undefined;
      let written: Promise<T>;
      if (this.router?.has(stream)) {
        // A partitioned stream's emits wait for its partition count check (one round trip, then cached); they all
        // wait on the same check, so they keep their call order among themselves.
        written = this.connect().then(async (connected) => {
          await this.router!.checked(connected, stream, this.options.keyPrefix);
          return send(connected);
        });
      } else if (direct) {
        written = send(direct);
      } else {
        // Not connected yet: every emit waits on the same connect, and its reactions run in call order. Sending later
        // emits straight into ioredis's offline queue would store them before the first one.
        this.waiting++;
        written = this.connect().then(
          (connected) => {
            this.waiting--;
            return send(connected);
          },
          (err: unknown) => {
            this.waiting--;
            throw err;
          },
        );
      }
      return written;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private entryOf(stream: string, packet: ReadPacket): [key: string, fields: string[]] {
    const record = packet.data instanceof RedisStreamsRecord ? packet.data : undefined;
    const headers = withMetadata(record?.headers, (packet as { metadata?: unknown }).metadata);
    const fields = this.entrySerializer.serialize(record ? record.data : packet.data, headers);
    this.checkSize(stream, fields);
    const key =
      this.router?.keyOf(this.options.keyPrefix, stream, record?.options.key) ?? this.options.keyPrefix + stream;
    return [key, fields];
  }

  private trimArgs(): (string | number)[] {
    return trimArgs(this.options, this.ackedTrim, Date.now());
  }

  private checkSize(stream: string, fields: string[]): void {
    let chars = 0;
    for (const field of fields) chars += field.length;
    // A UTF-16 unit takes at most 3 bytes in UTF-8: most entries are cleared without encoding anything.
    if (chars * 3 <= this.options.maxPayloadBytes) return;
    let bytes = 0;
    for (const field of fields) bytes += Buffer.byteLength(field);
    if (bytes > this.options.maxPayloadBytes)
      throw new PayloadTooLargeError(stream, bytes, this.options.maxPayloadBytes);
  }

  /**
   * `send(stream, data)`: appends a request that one server of the handler's consumer group answers on this client's
   * reply stream. Nest calls this after `connect()`, so the shared connection exists.
   */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    this.requests ??= new RequestSender({
      connection: this.options.connection,
      commands: this.redis!,
      keyPrefix: this.options.keyPrefix,
      maxLen: this.options.maxLen ?? 0,
      requestTimeout: this.options.requestTimeout,
      replyTtl: this.options.replyTtl,
      deserializer: this.options.deserializer ?? new JsonEntryDeserializer(),
      logger: this.logger,
      encode: (request, replyHeaders) => {
        const record = request.data instanceof RedisStreamsRecord ? request.data : undefined;
        const headers = {
          ...withMetadata(record?.headers, (request as { metadata?: unknown }).metadata),
          ...replyHeaders,
        };
        const fields = this.entrySerializer.serialize(record ? record.data : request.data, headers);
        this.checkSize(String(request.pattern), fields);
        return fields;
      },
    });
    const observer = this.options.observer;
    if (!observer?.producing) return this.requests.send(packet, callback);
    const headers: StreamHeaders = {};
    const end = observer.producing(String(packet.pattern), 'send', headers);
    if (!end) return this.requests.send(withTraceHeaders(packet, headers), callback);
    let ended = false;
    const endOnce = (outcome: ProducedOutcome): void => {
      if (!ended) end(outcome);
      ended = true;
    };
    const unsubscribe = this.requests.send(withTraceHeaders(packet, headers), (reply) => {
      if (reply.err !== undefined && reply.err !== null) endOnce({ error: reply.err });
      else if (reply.isDisposed) endOnce({});
      callback(reply);
    });
    return () => {
      endOnce({});
      unsubscribe();
    };
  }

  /** Requests sent and still waiting for a reply (each is freed by its reply, its timeout or an unsubscribe). */
  get pendingRequests(): number {
    return this.requests?.size ?? 0;
  }

  /** The key of this client's reply stream, once `send()` has been used. */
  get replyStream(): string | undefined {
    return this.requests?.replyStream;
  }

  /** Closes the connection; later calls return the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const redis = this.redis;
      if (!redis) return;
      await this.connecting?.catch(() => undefined);
      const answered = await (this.requests?.close() ?? Promise.resolve(true)).catch((err: unknown) => {
        this.logger.warn(`Closing the reply reader failed: ${(err as Error).message}`);
        return true;
      });
      // Not connected (a failed connect, Redis down): QUIT would wait in the offline queue forever; a frozen Redis
      // (one that just left the reply stream's delete unanswered) would never answer it: the connection is cut.
      if (answered && redis.status === 'ready') await withTimeout(redis.quit(), QUIT_TIMEOUT_MS);
      if (redis.status !== 'end') redis.disconnect(); // QUIT unanswered, failed, or never sent
      this._status$.next(RedisStreamsStatus.DISCONNECTED);
    })();
    return this.closing;
  }

  override on<EventKey extends keyof RedisStreamsEvents = keyof RedisStreamsEvents>(
    event: EventKey,
    callback: RedisStreamsEvents[EventKey],
  ): void {
    this.listeners.push([event, callback]);
    this.redis?.on(event, callback);
  }

  /** The ioredis connection (after `connect()`). */
  unwrap<T = Redis>(): T {
    if (!this.redis) throw new Error('RedisStreamsClient is not connected yet: call connect() or emit() first.');
    return this.redis as T;
  }
}

/** The packet with `headers` added to its metadata, which becomes entry headers (see `withMetadata`). */
function withTraceHeaders(packet: ReadPacket, headers: StreamHeaders): ReadPacket {
  if (Object.keys(headers).length === 0) return packet;
  const metadata = (packet as { metadata?: unknown }).metadata;
  return {
    ...packet,
    metadata: { ...(typeof metadata === 'object' ? metadata : undefined), ...headers },
  } as ReadPacket;
}

function withMetadata(headers: StreamHeaders | undefined, metadata: unknown): StreamHeaders | undefined {
  if (metadata === undefined || metadata === null || typeof metadata !== 'object') return headers;
  const merged: StreamHeaders = { ...headers };
  for (const [name, value] of Object.entries(metadata))
    merged[name] = typeof value === 'string' ? value : JSON.stringify(value);
  return merged;
}
