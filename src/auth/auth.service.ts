import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG } from '../config/app-config.constants.js';
import type { AppConfig } from '../config/app-config.interface.js';
import { AuthHttpException } from './auth-http.exception.js';
import {
  AUTH_FAILURE_MESSAGES,
  MAX_TOKEN_LENGTH,
  USERNAME_PATTERN,
} from './auth.constants.js';
import type {
  AccessTokenPayload,
  AuthFailureReason,
  TokenCheck,
  TokenResponse,
} from './auth.interfaces.js';
import { LoginAttemptStore } from './login-attempt-store.interface.js';
import { PasswordHasher } from './password.hasher.js';
import { UsersService } from './users.service.js';

/**
 * Registration, password login with lockout, and access tokens (HS256 JWTs with `sub` =
 * username, `iat`, `exp` and a random `jti`).
 *
 * @publicApi
 */
@Injectable()
export class AuthService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    @Inject(LoginAttemptStore) private readonly attempts: LoginAttemptStore,
  ) {}

  /**
   * Registers a user.
   *
   * @throws ConflictException (409) when the username is taken.
   */
  async register(
    username: string,
    password: string,
  ): Promise<{ username: string }> {
    // Registration reveals whether a name is taken anyway; checking first saves a hash.
    if (await this.users.exists(username)) {
      throw usernameTaken();
    }
    const created = await this.users.create(
      username,
      await this.hasher.hash(password),
    );
    if (created === null) {
      throw usernameTaken();
    }
    return { username: created.username };
  }

  /**
   * Checks a password and issues a token. Attempts are counted per username and client IP:
   * after 5 within 15 minutes without a success, every attempt (even with the right
   * password) is refused until the window passes; a success resets the count. Unknown
   * usernames cost the same time and get the same answer as wrong passwords.
   *
   * @throws AuthHttpException 401 (wrong credentials) or 429 (locked out, with Retry-After).
   */
  async login(
    username: string,
    password: string,
    clientIp: string,
  ): Promise<TokenResponse> {
    const key = `${clientIp}|${username}`;
    const lockedForMs = await this.attempts.consume(key);
    if (lockedForMs > 0) {
      throw AuthHttpException.tooManyAttempts(Math.ceil(lockedForMs / 1000));
    }
    const user = await this.users.findByUsername(username);
    const valid =
      user === null
        ? await this.hasher.verifyDummy(password)
        : await this.hasher.verify(password, user.passwordHash);
    if (user === null || !valid) {
      throw AuthHttpException.invalidCredentials();
    }
    await this.attempts.reset(key);
    return this.issueToken(user.username);
  }

  /** Signs an access token for a username (no checks). */
  async issueToken(username: string): Promise<TokenResponse> {
    const accessToken = await this.jwt.signAsync(
      { sub: username },
      { jwtid: randomUUID() },
    );
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: this.config.jwtExpiresIn,
    };
  }

  /**
   * Verifies a token's signature (HS256 only), `exp` (required) and `sub`, without looking
   * the user up. Never throws.
   */
  async verifyAccessToken(
    token: string | undefined | null,
  ): Promise<TokenCheck> {
    if (typeof token !== 'string' || token === '') {
      return failure('missing');
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      return failure('invalid');
    }
    let claims: Record<string, unknown>;
    try {
      claims = await this.jwt.verifyAsync<Record<string, unknown>>(token, {
        algorithms: ['HS256'],
      });
    } catch (error) {
      return failure(
        error instanceof TokenExpiredError ? 'expired' : 'invalid',
      );
    }
    const { sub, iat, exp, jti } = claims;
    if (
      typeof sub !== 'string' ||
      !USERNAME_PATTERN.test(sub) ||
      typeof exp !== 'number' ||
      !Number.isFinite(exp) ||
      (iat !== undefined && typeof iat !== 'number') ||
      (jti !== undefined && typeof jti !== 'string')
    ) {
      return failure('invalid');
    }
    const payload: AccessTokenPayload = {
      sub,
      exp,
      ...(typeof iat === 'number' ? { iat } : {}),
      ...(typeof jti === 'string' ? { jti } : {}),
    };
    return {
      ok: true,
      username: sub,
      expiresAt: new Date(exp * 1000),
      payload,
    };
  }

  /**
   * {@link verifyAccessToken}, then checks that the user still exists (reason
   * `unknown-user`, message "Invalid user"). For `GET /auth/me` and WebSocket handshakes.
   */
  async authenticate(token: string | undefined | null): Promise<TokenCheck> {
    const check = await this.verifyAccessToken(token);
    if (check.ok && !(await this.users.exists(check.username))) {
      return failure('unknown-user');
    }
    return check;
  }
}

function failure(reason: AuthFailureReason): TokenCheck {
  return { ok: false, reason, message: AUTH_FAILURE_MESSAGES[reason] };
}

function usernameTaken(): ConflictException {
  return new ConflictException('Username is already taken');
}
