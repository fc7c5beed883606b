import { Logger } from '@nestjs/common';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { DEFAULT_REQUEST_GROUP, REDIS_STREAMS_TRANSPORT, REPLY_STREAM_SEGMENT } from '../constants.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { RedisStreamsStatus, type RedisStreamsEvents } from '../events/redis-streams.events.js';
import {
  type RedisStreamsHandlerOptions,
  type RedisStreamsServerOptions,
  SERVER_DEFAULTS,
} from '../interfaces/redis-streams-options.interface.js';
import type { StreamDeserializer, StreamHeaders, StreamSerializer } from '../interfaces/serialization.interface.js';
import { defaultDeadLetterKey, keySlot } from '../cluster/key-slot.js';
import {
  connectionName,
  connectOrExplain,
  createRedis,
  defaultConsumerName,
  isClusterConnection,
} from '../redis/connection.js';
import { checkPartitionCount } from '../partitions/partition-count.js';
import { ClusterSettling, settleTimeoutOf } from '../redis/cluster-settling.js';
import { JsonEntryDeserializer } from '../serialization/json-entry.deserializer.js';
import { JsonEntrySerializer } from '../serialization/json-entry.serializer.js';
import { BroadcastReader } from './broadcast-reader.js';
import { type DeadLetterEvent, GroupReader, type PartitionReading } from './group-reader.js';
import type { HandlerRoute, RedisStreamsObserver } from './redis-streams.observer.js';
import { PartitionOwner } from './partition-owner.js';
import { bySlot, checkingEffectSlots, push, streamKeys, takePartitioned } from './reader-layout.js';
import { RequestResponder, type RequestResponderOptions } from './request-responder.js';
import type { StreamSubscription } from './subscription.js';
import { resolveStartIds } from './start-position.js';
import { withTimeout } from './stream-reader.js';
import { validateHandlerExtras } from './validate-extras.js';
import { validateServerOptions } from './validate-options.js';

type ResolvedServerOptions = Required<
  Omit<RedisStreamsServerOptions, 'group' | 'consumer' | 'serializer' | 'deserializer' | 'deadLetterStream'>
> &
  Pick<RedisStreamsServerOptions, 'deadLetterStream'> &
  Pick<RedisStreamsServerOptions, 'group'> & { consumer: string };

/** A handler route as registered by Nest, before the server is listening. */
interface Route {
  stream: string;
  options: RedisStreamsHandlerOptions;
  isEventHandler: boolean;
}

/**
 * Nest microservice transport over Redis Streams. `@EventPattern('Email')` handlers consume the stream through a
 * consumer group (each entry to one consumer of the group); `@Broadcast('Email')` handlers read it with XREAD (every
 * instance sees every entry). Delivery is at-least-once: acknowledged after success, recovered after a crash.
 */
export class RedisStreamsServer
  extends Server<RedisStreamsEvents, RedisStreamsStatus>
  implements CustomTransportStrategy
{
  override readonly transportId = REDIS_STREAMS_TRANSPORT;
  /** Handler failures come back to this transport (it awaits handlers) instead of being logged by Nest. */
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(RedisStreamsServer.name);

  private readonly options: ResolvedServerOptions;
  /** Connected to a Redis Cluster: readers are split by hash slot and derived keys must share their stream's slot. */
  private readonly cluster: boolean;
  private readonly entryDeserializer: StreamDeserializer;
  /** Turns replies to requests into entry fields. */
  private readonly replySerializer: StreamSerializer;
  private readonly routes = new Map<string, Route>();
  private readonly listeners: [keyof RedisStreamsEvents, RedisStreamsEvents[keyof RedisStreamsEvents]][] = [];
  private readonly deadLetterListeners: ((event: DeadLetterEvent) => void)[] = [];
  private readonly observers: RedisStreamsObserver[] = [];
  private commands?: Redis;
  private groupReaders: GroupReader[] = [];
  private partitionOwners: PartitionOwner[] = [];
  private broadcastReaders: BroadcastReader[] = [];
  private closing?: Promise<void>;
  private heartbeat?: NodeJS.Timeout;

  constructor(options: RedisStreamsServerOptions = {}) {
    super();
    validateServerOptions(options);
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const cluster = options.connection !== undefined && isClusterConnection(options.connection);
    this.cluster = cluster;
    this.options = {
      ...SERVER_DEFAULTS,
      deadLetterStream: (key: string) => defaultDeadLetterKey(key, cluster),
      consumer: defaultConsumerName(),
      ...defined,
    };
    this.entryDeserializer = options.deserializer ?? new JsonEntryDeserializer();
    this.replySerializer = options.serializer ?? new JsonEntrySerializer();
  }

  /** This instance's consumer name in its groups. */
  get consumer(): string {
    return this.options.consumer;
  }

  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler = false,
    extras: Record<string, unknown> = {},
  ): void {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw new InvalidOptionsError(
        'pattern',
        `Redis Streams patterns name a stream, so they must be non-empty strings; got ${JSON.stringify(pattern)}.`,
      );
    }
    validateHandlerExtras(pattern, extras, isEventHandler);
    const options = extras as RedisStreamsHandlerOptions;
    // Handlers of one stream but another group (or broadcast) must not be chained by Nest under one pattern string;
    // handlers of one stream and one group are, whether they name the group or take the server's, so both run.
    const group = options.group ?? this.options.group ?? '';
    const route = options.broadcast
      ? `broadcast\u0000${pattern}`
      : `${isEventHandler ? 'group' : 'request'}\u0000${group}\u0000${pattern}`;
    const existing = this.routes.get(route);
    if (existing) checkSameRoute(pattern, group, existing.options, options);
    else this.routes.set(route, { stream: pattern, options, isEventHandler });
    super.addHandler(route, callback, isEventHandler, extras);
  }

  async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  private async start(): Promise<void> {
    const { connection, consumer } = this.options;
    const commands = createRedis(connection, 'commands', connectionName(consumer, 'commands'));
    // Every group reader listens for this connection's reconnects, and there is one per slot on a cluster and one per
    // owned partition: more than EventEmitter's default 10 is expected, not a leak.
    commands.setMaxListeners(0);
    this.commands = commands;
    this.watchConnection(commands);
    for (const [event, listener] of this.listeners) commands.on(event, listener);
    try {
      await connectOrExplain(commands);
    } catch (err) {
      commands.disconnect(); // listen() fails: stop ioredis from retrying a connection nobody will use
      throw err;
    }
    // A cluster's topology may still be changing (just created, a failover): each step below waits that out, within one bound.
    const settling = new ClusterSettling(settleTimeoutOf(connection), this.logger);
    let subscriptions: ReturnType<RedisStreamsServer['buildSubscriptions']>;
    try {
      await settling.run('checking partition counts', () => this.checkPartitions(commands));
      subscriptions = this.buildSubscriptions();
    } catch (err) {
      commands.disconnect(); // listen() fails on the options: nothing else was started
      throw err;
    }
    this._status$.next(RedisStreamsStatus.CONNECTED);
    this.startHeartbeat(commands);

    const { groups, broadcasts } = subscriptions;
    // Before the partitions are taken out of `groups`: a group started at a time is created on each partition too.
    const groupKeys = new Map([...groups].map(([group, byConcurrency]) => [group, keysOf(byConcurrency)]));
    const { startId, broadcastStartId } = await settling.run('resolving start positions', () =>
      resolveStartIds(commands, this.options, groupKeys, this.logger),
    );
    const groupReader = (
      group: string,
      concurrency: number,
      streams: StreamSubscription[],
      partition?: PartitionReading,
    ): GroupReader =>
      new GroupReader({
        ...base,
        connectionName: connectionName(consumer, 'group', group),
        subscriptions: streams,
        concurrency,
        group,
        startId,
        minIdleTime: this.options.minIdleTime,
        // A partition's abandoned entries are its new owner's to take over, in order, not anyone's to claim.
        claimInterval: partition ? 0 : this.options.claimInterval,
        retryBackoff: this.options.retryBackoff,
        consumerIdleTimeout: this.options.consumerIdleTimeout,
        onDeadLetter: (event) => this.deadLetterListeners.forEach((listener) => listener(event)),
        partition,
      });
    for (const [group, partitioned] of takePartitioned(groups, this.options.partitions, this.options.keyPrefix)) {
      for (const [streamKey, partitions] of partitioned) {
        this.partitionOwners.push(
          new PartitionOwner({
            commands,
            group,
            consumer,
            streamKey,
            subscriptions: partitions,
            leaseTime: this.options.partitionLeaseTime,
            shutdownTimeout: this.options.shutdownTimeout,
            logger: this.logger,
            createReader: (subscription, partition) => groupReader(group, 1, [subscription], partition),
          }),
        );
      }
    }
    const base = {
      connection,
      commands,
      consumer,
      block: this.options.block,
      count: this.options.count,
      maxPayloadBytes: this.options.maxPayloadBytes,
      deserializer: this.entryDeserializer,
      logger: this.logger,
      observer: this.observers.length === 0 ? undefined : fanOut(this.observers),
      settling,
    };
    for (const [group, byConcurrency] of groups) {
      for (const [concurrency, subscriptions] of bySlot(byConcurrency, this.cluster)) {
        this.groupReaders.push(groupReader(group, concurrency, subscriptions));
      }
    }
    for (const [concurrency, subscriptions] of bySlot(broadcasts, this.cluster)) {
      this.broadcastReaders.push(
        new BroadcastReader({
          ...base,
          connectionName: connectionName(consumer, 'broadcast'),
          subscriptions,
          concurrency,
          startId: broadcastStartId,
        }),
      );
    }
    await Promise.all([...this.groupReaders, ...this.broadcastReaders].map((reader) => reader.start()));
    await Promise.all(
      this.partitionOwners.map((owner) => settling.run('taking partition leases', () => owner.start())),
    );
    for (const reader of this.groupReaders) this.logger.log(`Consuming ${reader.summary}`);
  }

  /**
   * Groups handlers into readers: one reader per consumer group (and concurrency) reads all of that group's streams in
   * one XREADGROUP; broadcast handlers share one XREAD reader per concurrency (split by slot on a cluster: `bySlot`).
   */
  private buildSubscriptions(): {
    groups: Map<string, Map<number, StreamSubscription[]>>;
    broadcasts: Map<number, StreamSubscription[]>;
  } {
    const groups = new Map<string, Map<number, StreamSubscription[]>>();
    const broadcasts = new Map<number, StreamSubscription[]>();
    const { keyPrefix, deadLetterStream } = this.options;
    // Requests (@MessagePattern) are read through a consumer group too, so exactly one instance answers each.
    let responder: RequestResponder | undefined;
    const kinds = new Map<string, boolean>();
    for (const [route, { stream, options, isEventHandler }] of this.routes) {
      if (!isEventHandler) {
        responder ??= new RequestResponder({
          commands: this.commands!,
          serializer: this.replySerializer,
          logger: this.logger,
          replyPrefix: keyPrefix + REPLY_STREAM_SEGMENT,
          replyHeaders: replyHeadersOf(this.observers),
        });
        checkRequestRoute(stream, options, kinds, options.group ?? this.options.group ?? DEFAULT_REQUEST_GROUP);
      } else if (!options.broadcast) {
        checkRequestRoute(stream, options, kinds, options.group ?? this.options.group, true);
      }
      const handler = this.messageHandlers.get(route)!;
      const subscriptions = streamKeys(keyPrefix, stream, this.options.partitions).map((key): StreamSubscription => {
        const deadLetterKey =
          deadLetterStream === false || deadLetterStream === undefined ? false : deadLetterStream(key);
        if (this.cluster && deadLetterKey !== false && keySlot(deadLetterKey) !== keySlot(key)) {
          throw new InvalidOptionsError(
            'deadLetterStream',
            `on Redis Cluster the dead-letter stream must be in its stream's hash slot; "${deadLetterKey}" is not ` +
              `in the slot of "${key}". Derive it with a hash tag, e.g. (key) => \`{\${key}}:dead\` (the default).`,
          );
        }
        return {
          stream,
          key,
          handler: this.wrapHandler(this.cluster && !options.broadcast ? checkingEffectSlots(handler) : handler, {
            stream,
            key,
            kind: options.broadcast ? 'broadcast' : isEventHandler ? 'event' : 'request',
          }),
          ack: options.ack ?? this.options.ack,
          maxDeliveries: options.maxDeliveries ?? this.options.maxDeliveries,
          deadLetterKey,
          responder: isEventHandler ? undefined : responder,
          failingSinceSuccess: 0,
        };
      });
      const concurrency = options.concurrency ?? this.options.concurrency;
      if (options.broadcast) {
        for (const subscription of subscriptions) push(broadcasts, concurrency, subscription);
        continue;
      }
      const group = options.group ?? this.options.group ?? (isEventHandler ? undefined : DEFAULT_REQUEST_GROUP);
      if (!group) {
        throw new InvalidOptionsError(
          'group',
          `@EventPattern('${stream}') has no consumer group: set \`group\` in the RedisStreamsServer options, or ` +
            `give the handler one with @EventPattern('${stream}', { group: 'MyGroup' }), or use @Broadcast('${stream}').`,
        );
      }
      let byConcurrency = groups.get(group);
      if (!byConcurrency) groups.set(group, (byConcurrency = new Map<number, StreamSubscription[]>()));
      for (const subscription of subscriptions) push(byConcurrency, concurrency, subscription);
    }
    return { groups, broadcasts };
  }

  /** The handler as the observers wrap it (tracing); the handler itself when none does. */
  private wrapHandler(handler: MessageHandler, route: HandlerRoute): MessageHandler {
    return this.observers.reduce((wrapped, observer) => observer.wrapHandler?.(wrapped, route) ?? wrapped, handler);
  }

  /** Records or checks the partition count of every partitioned stream a handler reads; refuses to start on a mismatch. */
  private async checkPartitions(commands: Redis): Promise<void> {
    const streams = new Set([...this.routes.values()].map((route) => route.stream));
    for (const [stream, count] of Object.entries(this.options.partitions)) {
      if (streams.has(stream)) await checkPartitionCount(commands, stream, this.options.keyPrefix + stream, count);
    }
  }

  /**
   * Stops reading at once, waits up to `shutdownTimeout` for running handlers, acks what finished, leaves the rest
   * pending for recovery, and closes every connection it opened. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Replaces the shared connection when it stops answering without being closed (acks would wait on it forever). */
  private startHeartbeat(commands: Redis): void {
    const interval = this.options.heartbeatInterval;
    if (interval <= 0) return;
    const beat = async (): Promise<void> => {
      if (this.closing || commands.status !== 'ready') return;
      if (await withTimeout(commands.ping(), interval)) return;
      if (this.closing) return;
      this.logger.warn(`Redis did not answer PING within ${interval} ms on the shared connection; reconnecting.`);
      commands.disconnect(true);
    };
    this.heartbeat = setInterval(() => void beat(), interval);
    this.heartbeat.unref();
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    const timeout = this.options.shutdownTimeout;
    await Promise.allSettled([
      ...this.groupReaders.map((reader) => reader.close(timeout)),
      ...this.partitionOwners.map((owner) => owner.close(timeout)),
      ...this.broadcastReaders.map((reader) => reader.close(timeout)),
    ]);
    const commands = this.commands;
    if (commands && !(await withTimeout(commands.quit(), 1000))) commands.disconnect();
    this._status$.next(RedisStreamsStatus.DISCONNECTED);
    this._status$.complete();
  }

  on<EventKey extends keyof RedisStreamsEvents = keyof RedisStreamsEvents>(
    event: EventKey,
    callback: RedisStreamsEvents[EventKey],
  ): void {
    this.listeners.push([event, callback]);
    this.commands?.on(event, callback);
  }

  /** Adds an observer (metrics, tracing) of what happens to entries. Call before the microservice listens. */
  observe(observer: RedisStreamsObserver): void {
    if (this.commands) throw new Error('Call observe() before the microservice listens.');
    this.observers.push(observer);
  }

  /** Told each time an entry is moved to a dead-letter stream. */
  onDeadLetter(listener: (event: DeadLetterEvent) => void): void {
    this.deadLetterListeners.push(listener);
  }

  /** The shared, non-blocking ioredis connection of this server. */
  unwrap<T = Redis>(): T {
    if (!this.commands) {
      throw new Error('RedisStreamsServer is not listening yet: call unwrap() after the microservice has started.');
    }
    return this.commands as T;
  }

  private watchConnection(redis: Redis): void {
    let reported = false;
    redis.on('error', (err: Error) => {
      if (reported) return;
      reported = true;
      this.logger.error(`Redis connection error: ${err.message}`);
    });
    redis.on('ready', () => {
      reported = false;
      this._status$.next(RedisStreamsStatus.CONNECTED);
    });
    redis.on('reconnecting', () => this._status$.next(RedisStreamsStatus.RECONNECTING));
    redis.on('end', () => this._status$.next(RedisStreamsStatus.DISCONNECTED));
  }
}

function fanOut(observers: RedisStreamsObserver[]): RedisStreamsObserver {
  if (observers.length === 1) return observers[0];
  return {
    processed: (entry, ms) => observers.forEach((o) => o.processed?.(entry, ms)),
    failed: (entry, ms, error) => observers.forEach((o) => o.failed?.(entry, ms, error)),
    retryScheduled: (entry, delay) => observers.forEach((o) => o.retryScheduled?.(entry, delay)),
    claimed: (stream, group, consumer, count) => observers.forEach((o) => o.claimed?.(stream, group, consumer, count)),
    deadLettered: (entry, key, reason) => observers.forEach((o) => o.deadLettered?.(entry, key, reason)),
  };
}

/** The observers' reply headers merged, or undefined when no observer adds any (nothing is called per reply then). */
function replyHeadersOf(observers: RedisStreamsObserver[]): RequestResponderOptions['replyHeaders'] {
  const adding = observers.filter((o) => o.replyHeaders !== undefined);
  if (adding.length === 0) return undefined;
  return (context) => {
    let headers: StreamHeaders | undefined;
    for (const observer of adding) {
      const more = observer.replyHeaders!(context);
      if (more) headers = { ...headers, ...more };
    }
    return headers;
  };
}

/**
 * One consumer group can't serve a stream both as events and as requests: its entries would be split between the two
 * handlers at random. Request handlers can't be broadcast either: every instance would answer.
 */
function checkRequestRoute(
  stream: string,
  options: RedisStreamsHandlerOptions,
  kinds: Map<string, boolean>,
  group: string | undefined,
  isEventHandler = false,
): void {
  if (!isEventHandler && options.broadcast) {
    throw new InvalidOptionsError(
      'broadcast',
      `@MessagePattern('${stream}') can't be broadcast: every instance would answer. Drop \`broadcast\` or use @Broadcast with an event.`,
    );
  }
  if (group === undefined) return;
  const slot = `${group}\u0000${stream}`;
  const seen = kinds.get(slot);
  if (seen !== undefined && seen !== isEventHandler) {
    throw new InvalidOptionsError(
      'pattern',
      `Stream '${stream}' has both an @EventPattern and a @MessagePattern handler in group '${group}'; the group would ` +
        'split its entries between them. Give one of them another group or another stream name.',
    );
  }
  kinds.set(slot, isEventHandler);
}

/** Two handlers of one stream in one group share one reader, so the options that shape it must agree. */
function checkSameRoute(
  stream: string,
  group: string,
  first: RedisStreamsHandlerOptions,
  second: RedisStreamsHandlerOptions,
): void {
  for (const name of ['concurrency', 'maxDeliveries', 'ack'] as const) {
    if (first[name] === second[name]) continue;
    throw new InvalidOptionsError(
      name,
      `Two handlers of stream '${stream}' in ${group ? `group '${group}'` : 'the broadcast reader'} disagree on \`${name}\` ` +
        `(${JSON.stringify(first[name])} and ${JSON.stringify(second[name])}); both run for every entry through one ` +
        'reader, so give them the same value, or move one of them to another group.',
    );
  }
}

function keysOf(byConcurrency: Map<number, StreamSubscription[]>): string[] {
  return [...new Set([...byConcurrency.values()].flat().map((subscription) => subscription.key))];
}
