import { IsIn } from 'class-validator';
import { SETTABLE_STATUSES, type UserStatus } from '../chat.constants.js';

/** `status`: online, away or busy. */
export class StatusDto {
  @IsIn(SETTABLE_STATUSES, {
    message: 'status must be one of online, away, busy',
  })
  status: Exclude<UserStatus, 'offline'>;
}
