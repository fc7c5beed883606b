import { type DynamicModule, Module } from '@nestjs/common';
import { ClientsModule } from '@nestjs/microservices';
import { RedisStreamsClient, type RedisStreamsClientOptions } from 'nestjs-redis-streams';
import { type AppConfig, connectionOf } from '../../shared/app-config.js';
import { OpsModule } from '../../shared/ops.module.js';
import { tracing } from '../../shared/tracing.js';
import { MessagesController } from './messages.controller.js';
import { STREAMS_CLIENT } from './streams-client.token.js';

@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    const options: RedisStreamsClientOptions = {
      connection: connectionOf(config),
      keyPrefix: config.keyPrefix,
      observer: tracing,
      // Replication is asynchronous: without this, a 202 for an entry its master had not yet passed on to a replica is
      // lost if that master dies. With it, a request fails (500) instead, and may be sent again.
      ...(config.emitReplicas > 0 ? { durability: { replicas: config.emitReplicas, timeout: 1000 } } : {}),
    };
    return {
      module: GatewayModule,
      imports: [
        OpsModule.forApp(config, []),
        ClientsModule.register([{ name: STREAMS_CLIENT, customClass: RedisStreamsClient, options }]),
      ],
      controllers: [MessagesController],
    };
  }
}
