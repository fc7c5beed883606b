import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { RedisStreamsHandlerOptions } from '../interfaces/redis-streams-options.interface.js';
import { allNames, knownNames, nonEmptyString, oneOf, positiveInteger } from './option-checks.js';
import { ACK_MODES } from './validate-options.js';

const HANDLER_OPTION_NAMES = allNames<RedisStreamsHandlerOptions>()([
  'group',
  'concurrency',
  'maxDeliveries',
  'ack',
  'broadcast',
]);
const BROADCAST_OPTION_NAMES = ['concurrency', 'broadcast'];
const OTHER_TRANSPORT =
  ' Extras meant for another transport of a hybrid app belong on a handler bound to it: `@EventPattern(pattern, Transport.NATS, extras)`.';

/**
 * Checks a handler's decorator extras when Nest registers it (so a wrong one fails `app.listen()`), with the same
 * messages as the constructor's: a typo or a value the readers can't work with would otherwise be ignored silently
 * (a handler that never runs, entries never acked, a group named "123").
 */
export function validateHandlerExtras(stream: string, extras: unknown, isEventHandler: boolean): void {
  const options = (extras ?? {}) as Record<string, unknown>;
  const broadcast = options.broadcast === true;
  const where = broadcast
    ? `@Broadcast('${stream}', …)`
    : `@${isEventHandler ? 'EventPattern' : 'MessagePattern'}('${stream}', …)`;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionsError('extras', `expected an options object, got ${JSON.stringify(extras)}.`, where);
  }
  knownNames(options, broadcast ? BROADCAST_OPTION_NAMES : HANDLER_OPTION_NAMES, where, OTHER_TRANSPORT);
  if (options.broadcast !== undefined && typeof options.broadcast !== 'boolean') {
    throw new InvalidOptionsError('broadcast', 'expected true or false; or use `@Broadcast(stream)`.', where);
  }
  nonEmptyString(options, 'group', where);
  positiveInteger(options, 'concurrency', where);
  positiveInteger(options, 'maxDeliveries', where);
  oneOf(options, 'ack', ACK_MODES, where);
}
