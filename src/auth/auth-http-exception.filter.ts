import { type ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { AuthHttpException } from './auth-http.exception.js';

/**
 * Sets the headers of an {@link AuthHttpException}, then lets Nest write the usual body.
 *
 * @publicApi
 */
@Catch(AuthHttpException)
export class AuthHttpExceptionFilter extends BaseExceptionFilter {
  override catch(exception: AuthHttpException, host: ArgumentsHost): void {
    const adapter = this.httpAdapterHost?.httpAdapter ?? this.applicationRef;
    if (adapter !== undefined && host.getType() === 'http') {
      const response: unknown = host.switchToHttp().getResponse();
      for (const [name, value] of Object.entries(exception.headers)) {
        adapter.setHeader(response, name, value);
      }
    }
    super.catch(exception, host);
  }
}
