import 'reflect-metadata';
import { type ExceptionFilter, type INestMicroservice, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RedisStreamsServer, type RedisStreamsServerOptions } from 'nestjs-redis-streams';

/** A running Nest microservice on a RedisStreamsServer, for integration tests. */
export interface TestService {
  app: INestMicroservice;
  server: RedisStreamsServer;
  close(): Promise<void>;
}

export interface TestServiceExtras {
  providers?: { provide: unknown; useValue: unknown }[];
  filters?: ExceptionFilter[];
}

/** Starts a Nest microservice with `controllers` (and optional providers and global filters) on a RedisStreamsServer. */
export async function startService(
  controllers: Type[],
  options: RedisStreamsServerOptions,
  { providers = [], filters = [] }: TestServiceExtras = {},
): Promise<TestService> {
  @Module({ controllers, providers: providers as never[] })
  class TestModule {}

  const server = new RedisStreamsServer(options);
  const app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: ['error', 'warn'] });
  if (filters.length > 0) app.useGlobalFilters(...filters);
  await app.listen();
  return { app, server, close: () => app.close() };
}
