// Every Redis key the sample apps write besides the streams themselves. The library's exactly-once effects take keys
// as given (no keyPrefix), so the prefix is applied here.

/** Stream names, as handlers and the gateway name them. */
export const STREAMS = Object.freeze({ email: 'Email', push: 'Push' });

/** Consumer groups of the services. */
export const GROUPS = Object.freeze({
  email: 'EmailServiceGroup',
  notification: 'NotificationServiceGroup',
  bi: 'BIGroup',
});

export const keys = {
  /** Hash consumer → entries of `stream` this group handled (one exactly-once increment per entry). */
  processed: (prefix: string, group: string, stream: string) => `${prefix}processed:${group}:${stream}`,
  /** Hash entry id → the consumer that sent the mail. */
  sentMail: (prefix: string) => `${prefix}sent:email`,
  /** Counter of mails sent. */
  sentMailCount: (prefix: string) => `${prefix}sent:email:count`,
  /** Hash stream → entries counted by BI. */
  biTotals: (prefix: string) => `${prefix}bi:count`,
  /** Hash minute (`2026-11-22T20:51`) → entries of `stream` added in that minute. */
  biPerMinute: (prefix: string, stream: string) => `${prefix}bi:per-minute:${stream}`,
  /** The library's default dead-letter stream of a stream. */
  deadLetters: (prefix: string, stream: string) => `${prefix}${stream}:dead`,
};
