import 'reflect-metadata';
import { type DynamicModule, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RedisStreamsServer, type RedisStreamsServerOptions } from 'nestjs-redis-streams';
import { type AppConfig, logLevels } from './app-config.js';
import { ProcessedStats } from './processed-stats.js';
import { startTracing, tracing } from './tracing.js';

/**
 * Starts a hybrid app: HTTP (Express) plus a RedisStreamsServer microservice in the same process. SIGTERM/SIGINT close
 * the microservice first (running handlers finish, unfinished entries stay pending for recovery), then HTTP.
 */
export async function bootstrap(
  module: DynamicModule,
  config: AppConfig,
  options: RedisStreamsServerOptions,
): Promise<void> {
  const logger = new Logger(config.app);
  await startTracing(config);
  const app = await NestFactory.create(module, { logger: logLevels(config.logLevel) });
  const server = new RedisStreamsServer(options);
  const stats = app.get(ProcessedStats);
  stats.consumer = server.consumer;
  server.observe(stats.observer);
  server.observe(tracing);
  server.onDeadLetter((event) => logger.warn(`Dead-lettered an entry: ${JSON.stringify(event)}`));
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.startAllMicroservices();
  await app.listen(config.port, config.host);
  logger.log(`Listening on http://${config.host}:${config.port} as consumer ${server.consumer}`);
}

/** Runs `start`, and exits with a readable message (not a stack dump) when start-up fails. */
export function run(app: string, start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    console.error(`[${app}] failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
