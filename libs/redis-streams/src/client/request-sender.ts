import type { LoggerService } from '@nestjs/common';
import type { ReadPacket, WritePacket } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CORRELATION_ID_HEADER, REPLY_STREAM_SEGMENT, REPLY_TO_HEADER } from '../constants.js';
import { NoResponderError } from '../errors/no-responder.error.js';
import { RequestTimeoutError } from '../errors/request-timeout.error.js';
import type { RedisConnection } from '../interfaces/redis-streams-options.interface.js';
import type { StreamDeserializer, StreamHeaders } from '../interfaces/serialization.interface.js';
import { defaultConsumerName } from '../redis/connection.js';
import { deleteEntries, sendRequest } from '../redis/request-commands.js';
import type { ReplyKind } from '../server/request-responder.js';
import { withTimeout } from '../server/with-timeout.js';
import { CLOSE_STEP_MS, ReplyReader } from './reply-reader.js';

export interface RequestSenderOptions {
  connection: RedisConnection;
  /** The client's shared, non-blocking connection. */
  commands: Redis;
  keyPrefix: string;
  /** Approximate cap on request streams (`MAXLEN ~`), 0 for none. */
  maxLen: number;
  requestTimeout: number;
  replyTtl: number;
  deserializer: StreamDeserializer;
  logger: LoggerService;
  /** Turns a request packet into entry fields with the given reply headers added (and checks its size). */
  encode: (packet: ReadPacket, headers: StreamHeaders) => string[];
}

/** A request waiting for its replies. */
interface PendingRequest {
  pattern: string;
  key: string;
  callback: (packet: WritePacket) => void;
  timer: NodeJS.Timeout;
  /** The request entry's id, once written. */
  entryId?: string;
  /** The `x-reply-seq` of the next reply to pass on: lower ones were passed on already (a re-run sends them again). */
  nextSequence: number;
}

/**
 * The request side of `send()`: appends a request entry (`data` plus headers `x-reply-to` and `x-correlation-id`) to
 * the pattern's stream, where the handler's consumer group hands it to exactly one server, and routes the replies read
 * from this client's own reply stream back by correlation id. A request ends with its last reply, an error, its
 * timeout, or the caller unsubscribing; each of these frees its timer, its map entry and its request entry in Redis.
 */
export class RequestSender {
  private readonly pending = new Map<string, PendingRequest>();
  private readonly replyKey: string;
  private readonly reader: ReplyReader;
  private starting?: Promise<void>;
  private closed = false;

  constructor(private readonly options: RequestSenderOptions) {
    this.replyKey = `${options.keyPrefix}${REPLY_STREAM_SEGMENT}${defaultConsumerName()}`;
    this.reader = new ReplyReader({
      connection: options.connection,
      commands: options.commands,
      key: this.replyKey,
      ttl: options.replyTtl,
      deserializer: options.deserializer,
      logger: options.logger,
      onReply: (id, kind, data, sequence) => this.onReply(id, kind, data, sequence),
    });
  }

  /** Requests waiting for a reply. */
  get size(): number {
    return this.pending.size;
  }

  /** This client's reply stream key. */
  get replyStream(): string {
    return this.replyKey;
  }

  /** Sends a request; returns the teardown Nest calls when the caller unsubscribes. */
  send(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = String(packet.pattern);
    if (this.closed) {
      callback({
        err: new Error(`send('${pattern}') after close(): create a new RedisStreamsClient.`),
        isDisposed: true,
      });
      return () => undefined;
    }
    const id = randomUUID();
    const request: PendingRequest = {
      pattern,
      key: this.options.keyPrefix + pattern,
      callback,
      timer: this.startTimer(id, pattern),
      nextSequence: 0,
    };
    this.pending.set(id, request);
    this.write(id, request, packet).catch((err: unknown) => this.fail(id, err));
    return () => this.release(id);
  }

  /**
   * Fails the requests still waiting, stops reading replies and deletes the reply stream. Bounded; resolves false
   * when Redis did not answer.
   */
  async close(): Promise<boolean> {
    this.closed = true;
    for (const [id, request] of this.pending) {
      this.fail(id, new Error(`RedisStreamsClient closed before send('${request.pattern}') got its reply.`));
    }
    if (this.starting) {
      // A start that waits on an unreachable Redis (offline queue) must not hold close(): the reader closes anyway.
      await withTimeout(this.starting, CLOSE_STEP_MS);
      return this.reader.close();
    }
    return true;
  }

  private async write(id: string, request: PendingRequest, packet: ReadPacket): Promise<void> {
    if (typeof packet.pattern !== 'string' || packet.pattern.length === 0) {
      throw new Error(`send() takes the stream name as a non-empty string, got ${JSON.stringify(packet.pattern)}.`);
    }
    const fields = this.options.encode(packet, { [REPLY_TO_HEADER]: this.replyKey, [CORRELATION_ID_HEADER]: id });
    // The reply stream exists (and is read) before any request names it, so no reply can be missed.
    this.starting ??= this.reader.start().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    await this.starting;
    if (!this.pending.has(id)) return; // given up while the reader started
    const entryId = await sendRequest(this.options.commands, request.key, this.options.maxLen, fields);
    if (entryId === null) throw new NoResponderError(request.pattern, request.key);
    if (this.pending.get(id) === request) request.entryId = entryId;
    else this.deleteRequest(request.key, entryId); // given up while it was being written
  }

  private onReply(id: string, kind: ReplyKind, data: unknown, sequence: number | undefined): void {
    const request = this.pending.get(id);
    if (!request) return; // the caller gave up (timeout, unsubscribe) or a redelivered request was answered twice
    if (sequence !== undefined && !this.inSequence(id, request, kind, sequence)) return;
    switch (kind) {
      case 'next':
        clearTimeout(request.timer);
        request.timer = this.startTimer(id, request.pattern);
        return request.callback({ response: data });
      case 'last':
        this.release(id);
        return request.callback({ response: data, isDisposed: true });
      case 'end':
        this.release(id);
        return request.callback({ isDisposed: true });
      case 'error':
        this.release(id);
        return request.callback({ err: data, isDisposed: true });
      default:
        this.release(id);
        return request.callback({
          err: new Error(`Unknown reply kind "${String(kind)}" for send('${request.pattern}').`),
          isDisposed: true,
        });
    }
  }

  /**
   * Whether a reply numbered `sequence` is the one to pass on now. A request delivered again after its server died
   * mid-stream is run again from the start: its replies below `nextSequence` were passed on from the first run and
   * are dropped, so the caller sees each position of the stream once (the re-run's values from where the first run
   * stopped). A re-run that ends before that point, or a gap in the numbers (replies lost), fails the request
   * instead: passing on what follows would skip or repeat values. A handler's error always ends the request.
   */
  private inSequence(id: string, request: PendingRequest, kind: ReplyKind, sequence: number): boolean {
    if (sequence === request.nextSequence) {
      request.nextSequence++;
      return true;
    }
    if (sequence < request.nextSequence && kind === 'next') return false;
    if (kind === 'error') return true; // the handler's own error ends the request, whatever came before
    const problem =
      sequence < request.nextSequence
        ? `a re-run of the request ended after ${sequence} replies, but ${request.nextSequence} were already passed on`
        : `reply ${sequence} came where reply ${request.nextSequence} was due: replies were lost`;
    this.fail(id, new Error(`send('${request.pattern}') failed: ${problem}. Send it again if it is safe to repeat.`));
    return false;
  }

  private startTimer(id: string, pattern: string): NodeJS.Timeout {
    const timeout = this.options.requestTimeout;
    return setTimeout(() => this.fail(id, new RequestTimeoutError(pattern, timeout)), timeout);
  }

  private fail(id: string, err: unknown): void {
    const request = this.pending.get(id);
    if (!request) return;
    this.release(id);
    request.callback({ err, isDisposed: true });
  }

  /** Forgets a request: its timer, its map entry, and its entry in the request stream (answered or not). */
  private release(id: string): void {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    if (request.entryId) this.deleteRequest(request.key, request.entryId);
  }

  /**
   * A request entry is deleted once answered or given up: request streams would otherwise grow forever, and a request
   * nobody waits for any more should not be worked on. One that a server is already handling is still answered (and
   * the answer dropped); XACK still works on a deleted entry.
   */
  private deleteRequest(key: string, entryId: string): void {
    deleteEntries(this.options.commands, key, [entryId]).catch((err: unknown) => {
      this.options.logger.warn?.(`Deleting request ${entryId} from ${key} failed: ${(err as Error).message}`);
    });
  }
}
