import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Ip,
  Post,
  Req,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { NoFilesInterceptor } from '@nestjs/platform-express';
import { AuthHttpExceptionFilter } from './auth-http-exception.filter.js';
import type { TokenResponse } from './auth.interfaces.js';
import { AuthService } from './auth.service.js';
import { BodyDepthPipe } from './body-depth.pipe.js';
import { RegisterDto } from './dto/register.dto.js';
import { TokenRequestDto } from './dto/token-request.dto.js';
import { type AuthenticatedRequest, JwtAuthGuard } from './jwt-auth.guard.js';

/**
 * `POST /auth/register`, `POST /auth/token` (alias `POST /token`) and `GET /auth/me`, as in
 * PROTOCOL.md. Bodies are validated before any hashing: a wrong type, a missing or unknown
 * field, a password over 128 characters or a body nested too deeply is a 400.
 *
 * @publicApi
 */
@Controller()
@UseFilters(AuthHttpExceptionFilter)
@UsePipes(
  new BodyDepthPipe(),
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
  }),
)
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Registers a user: 201 `{username}`, 409 when taken. */
  @Post('auth/register')
  @HttpCode(HttpStatus.CREATED)
  register(@Body() body: RegisterDto): Promise<{ username: string }> {
    return this.auth.register(body.username, body.password);
  }

  /**
   * OAuth2 password grant (form-encoded, multipart or JSON): 200 with the token, 401 with
   * `WWW-Authenticate: Bearer`, 429 with `Retry-After` after repeated failures.
   */
  @Post(['auth/token', 'token'])
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  // FastAPI's OAuth2PasswordRequestForm also takes multipart/form-data; fields only, small.
  @UseInterceptors(
    NoFilesInterceptor({
      limits: { fields: 8, fieldSize: 4096, parts: 8, files: 0 },
    }),
  )
  token(
    @Body() body: TokenRequestDto,
    @Ip() ip: string | undefined,
  ): Promise<TokenResponse> {
    return this.auth.login(body.username, body.password, ip ?? 'unknown');
  }

  /** The user of the bearer token: `{username}`; 401 otherwise (also for a deleted user). */
  @Get('auth/me')
  @UseGuards(JwtAuthGuard)
  me(@Req() request: AuthenticatedRequest): { username: string } {
    return { username: request.user.username };
  }
}
