import {
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../auth.constants.js';

/**
 * Body of `POST /auth/token` and `POST /token`: the OAuth2 password grant
 * (`application/x-www-form-urlencoded`, as FastAPI's `OAuth2PasswordRequestForm`), or JSON
 * `{"username", "password"}`.
 *
 * @publicApi
 */
export class TokenRequestDto {
  /** Username (not checked against the registration pattern: unknown names get 401). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(USERNAME_MAX_LENGTH)
  username: string;

  /** Password; at most 128 characters, longer ones are refused before hashing. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  /** OAuth2 grant type: `password` when sent (an empty form field counts as absent). */
  @ValidateIf((dto: TokenRequestDto) => (dto.grant_type ?? '') !== '')
  @IsIn(['password'], { message: 'grant_type must be "password"' })
  grant_type?: string;

  /** OAuth2 scopes (accepted, unused). */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  scope?: string;

  /** OAuth2 client id (accepted, unused). */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_id?: string;

  /** OAuth2 client secret (accepted, unused). */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_secret?: string;
}
