import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { STREAMS } from '../../shared/redis-keys.js';
import { parseEmailRequest, parsePushRequest } from './message-validation.js';
import { STREAMS_CLIENT } from './streams-client.token.js';

/** Accepted: the message is in its stream; `id` is the stream entry id. */
export interface Accepted {
  id: string;
  stream: string;
}

@Controller()
export class MessagesController {
  constructor(@Inject(STREAMS_CLIENT) private readonly client: ClientProxy) {}

  /** POST /emails {to, subject, body} → 202 {id}. Invalid input → 400 naming the field; nothing is appended. */
  @Post('emails')
  @HttpCode(202)
  async email(@Body() body: unknown): Promise<Accepted> {
    const mail = parseEmailRequest(body);
    return { id: await lastValueFrom(this.client.emit<string>(STREAMS.email, mail)), stream: STREAMS.email };
  }

  /** POST /push {userId, title, body} → 202 {id}. */
  @Post('push')
  @HttpCode(202)
  async push(@Body() body: unknown): Promise<Accepted> {
    const push = parsePushRequest(body);
    return { id: await lastValueFrom(this.client.emit<string>(STREAMS.push, push)), stream: STREAMS.push };
  }
}
