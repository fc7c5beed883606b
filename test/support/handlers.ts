import { Controller, type Type } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Broadcast, type RedisStreamsContext, type RedisStreamsHandlerOptions } from 'nestjs-redis-streams';

/** What a test handler does with an entry; its return value (promise, observable) is what Nest gets. */
export type Behaviour = (data: unknown, ctx: RedisStreamsContext) => unknown;

/** A controller with one `@EventPattern(stream, extras)` handler that runs `behaviour`. */
export function groupHandler(stream: string, behaviour: Behaviour, extras: RedisStreamsHandlerOptions = {}): Type {
  @Controller()
  class GroupHandler {
    @EventPattern(stream, extras)
    handle(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
      return behaviour(data, ctx);
    }
  }
  return GroupHandler;
}

/** A controller with one `@Broadcast(stream)` handler that runs `behaviour`. */
export function broadcastHandler(stream: string, behaviour: Behaviour, concurrency?: number): Type {
  @Controller()
  class BroadcastHandler {
    @Broadcast(stream, { concurrency })
    handle(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
      return behaviour(data, ctx);
    }
  }
  return BroadcastHandler;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Number of entries pending in a group (XPENDING summary). */
export async function pendingCount(
  redis: { xpending(key: string, group: string): Promise<unknown> },
  key: string,
  group: string,
): Promise<number> {
  const summary = (await redis.xpending(key, group)) as [number];
  return Number(summary[0]);
}

/** Turns a flat field/value list into an object. */
export function fieldsToObject(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) out[fields[i]] = fields[i + 1];
  return out;
}
