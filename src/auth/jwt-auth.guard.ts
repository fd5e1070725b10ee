import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
} from '@nestjs/common';
import type { Request } from 'express';
import { AuthHttpException } from './auth-http.exception.js';
import type { AuthenticatedUser } from './auth.interfaces.js';
import { AuthService } from './auth.service.js';

/** A request that passed {@link JwtAuthGuard}. */
export type AuthenticatedRequest = Request & { user: AuthenticatedUser };

/**
 * HTTP guard: requires `Authorization: Bearer <token>` with a valid access token of an
 * existing user, and sets `request.user = { username }`. Otherwise 401 with a
 * `WWW-Authenticate: Bearer` challenge (when `AuthHttpExceptionFilter` applies).
 *
 * @publicApi
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context
      .switchToHttp()
      .getRequest<Request & { user?: AuthenticatedUser }>();
    const token = bearerToken(request.headers.authorization);
    const check = await this.auth.authenticate(token);
    if (!check.ok) {
      throw AuthHttpException.invalidToken(check.message, token !== undefined);
    }
    request.user = { username: check.username };
    return true;
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}
