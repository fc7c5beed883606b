import { type DynamicModule, Module } from '@nestjs/common';
import { ClientsModule } from '@nestjs/microservices';
import { RedisStreamsClient, type RedisStreamsClientOptions } from 'nestjs-redis-streams';
import type { AppConfig } from '../../shared/app-config.js';
import { OpsModule } from '../../shared/ops.module.js';
import { tracing } from '../../shared/tracing.js';
import { MessagesController } from './messages.controller.js';
import { STREAMS_CLIENT } from './streams-client.token.js';

@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    const options: RedisStreamsClientOptions = {
      connection: config.redisUrl,
      keyPrefix: config.keyPrefix,
      observer: tracing,
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
