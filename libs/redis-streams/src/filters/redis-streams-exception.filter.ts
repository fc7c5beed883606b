import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';

/**
 * Nest turns any error that isn't an `RpcException` into `{ status: 'error', message: 'Internal server error' }`
 * before a transport sees it, so dead letters and log lines would only say that. Register this filter
 * (`app.useGlobalFilters(new RedisStreamsExceptionFilter())`, or `@UseFilters` on a controller) to keep each error's
 * own message and name: they are recorded in the dead-letter entry's `dl:reason`.
 */
@Catch()
export class RedisStreamsExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    if (exception instanceof RpcException) {
      const error = exception.getError();
      return throwError(() =>
        typeof error === 'object' && error !== null ? error : { status: 'error', message: error },
      );
    }
    const message = exception instanceof Error ? exception.message : String(exception);
    const name = exception instanceof Error ? exception.name : 'Error';
    return throwError(() => ({ status: 'error', message, name }));
  }
}
