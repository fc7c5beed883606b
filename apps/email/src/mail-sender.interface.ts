import type { RedisEffects } from 'nestjs-redis-streams';

/** The injection token of the MailSender. */
export const MAIL_SENDER = Symbol('MAIL_SENDER');

export interface Mail {
  to: string;
  subject: string;
  body: string;
}

/** Where a mail comes from: its stream entry, the consumer sending it, and the entry's exactly-once Redis writes. */
export interface MailDelivery {
  /** The stream entry id: unique per mail, so it is the idempotency key to give an external mail API. */
  id: string;
  consumer: string;
  /** Redis writes applied only with the entry's first acknowledgement. */
  effects: RedisEffects;
}

/** Sends one mail. It may run more than once for one entry (after a crash or retry): make the sending idempotent. */
export interface MailSender {
  send(mail: Mail, delivery: MailDelivery): Promise<void>;
}
