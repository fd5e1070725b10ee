import { IsString, Length, Matches } from 'class-validator';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth.constants.js';

/**
 * Body of `POST /auth/register`.
 *
 * @publicApi
 */
export class RegisterDto {
  /** 3-32 of `[A-Za-z0-9_.-]`. */
  @IsString()
  @Length(3, 32)
  @Matches(/^[A-Za-z0-9_.-]*$/, {
    message: 'username must contain only letters, digits, "_", "." and "-"',
  })
  username: string;

  /** 8-128 characters. */
  @IsString()
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH)
  password: string;
}
