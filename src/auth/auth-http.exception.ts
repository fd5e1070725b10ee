import { HttpException, HttpStatus } from '@nestjs/common';
import { INVALID_CREDENTIALS_MESSAGE } from './auth.constants.js';

/**
 * An HTTP error of the auth routes that carries response headers (`WWW-Authenticate`,
 * `Retry-After`), written by `AuthHttpExceptionFilter`. The body is
 * `{"statusCode", "message"}`.
 *
 * @publicApi
 */
export class AuthHttpException extends HttpException {
  constructor(
    message: string,
    status: number,
    /** Headers to set on the response. */
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(message, status);
  }

  /** 401 "Incorrect username or password" with `WWW-Authenticate: Bearer`. */
  static invalidCredentials(): AuthHttpException {
    return new AuthHttpException(
      INVALID_CREDENTIALS_MESSAGE,
      HttpStatus.UNAUTHORIZED,
      { 'WWW-Authenticate': 'Bearer' },
    );
  }

  /** 401 for a missing or refused bearer token (RFC 6750 challenge). */
  static invalidToken(
    message: string,
    tokenPresent: boolean,
  ): AuthHttpException {
    return new AuthHttpException(message, HttpStatus.UNAUTHORIZED, {
      'WWW-Authenticate': tokenPresent
        ? 'Bearer error="invalid_token"'
        : 'Bearer',
    });
  }

  /** 429 with `Retry-After` in whole seconds. */
  static tooManyAttempts(retryAfterSeconds: number): AuthHttpException {
    return new AuthHttpException(
      `Too many failed login attempts; try again in ${retryAfterSeconds} seconds`,
      HttpStatus.TOO_MANY_REQUESTS,
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}
