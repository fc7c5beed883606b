import type { MessageHandler } from '@nestjs/microservices';
import { isObservable } from 'rxjs';

/**
 * Calls a Nest handler and reports once, through `done`, when its work is over: its promise settled or its observable
 * completed (values are ignored). No promise is allocated for a handler that returns a plain value.
 */
export function invokeHandler(
  handler: MessageHandler,
  data: unknown,
  context: unknown,
  done: (err?: unknown) => void,
): void {
  let result: unknown;
  try {
    result = handler(data, context);
  } catch (err) {
    done(err ?? new Error('Handler threw a nullish value'));
    return;
  }
  settle(result, done);
}

function settle(result: unknown, done: (err?: unknown) => void): void {
  if (result instanceof Promise) {
    result.then(
      (value) => settle(value, done),
      (err) => done(err ?? new Error('Handler rejected with a nullish value')),
    );
  } else if (isObservable(result)) {
    result.subscribe({
      error: (err: unknown) => done(err ?? new Error('Handler observable failed with a nullish value')),
      complete: () => done(),
    });
  } else {
    done();
  }
}

/** A message for a log line from whatever a handler threw. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
