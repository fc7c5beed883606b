import { context, type Context } from '@opentelemetry/api';
import { isObservable, Observable } from 'rxjs';

/**
 * Runs `call` inside `ctx` and reports once, through `end`, when its work is over: at once for a plain value or a
 * throw, when a promise settles, when an observable (also one a promise resolves to) completes or fails. Returns what
 * `call` returned, an observable being wrapped so that it is subscribed inside `ctx` too (Nest runs interceptors and
 * some handlers only then, and the user's spans must nest under the entry's).
 */
export function tracedCall(ctx: Context, call: () => unknown, end: (err?: unknown) => void): unknown {
  let result: unknown;
  try {
    result = context.with(ctx, call);
  } catch (err) {
    end(err ?? new Error('Handler threw a nullish value'));
    throw err;
  }
  return settle(ctx, result, end);
}

function settle(ctx: Context, result: unknown, end: (err?: unknown) => void): unknown {
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => settle(ctx, value, end),
      (err: unknown) => {
        end(err ?? new Error('Handler rejected with a nullish value'));
        throw err;
      },
    );
  }
  if (isObservable(result)) {
    return new Observable<unknown>((subscriber) =>
      context.with(ctx, () =>
        result.subscribe({
          next: (value) => subscriber.next(value),
          error: (err: unknown) => {
            end(err ?? new Error('Handler observable failed with a nullish value'));
            subscriber.error(err);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
        }),
      ),
    );
  }
  end();
  return result;
}
