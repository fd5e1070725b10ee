import { IsString, Matches } from 'class-validator';
import { ROOM_PATTERN } from '../chat.constants.js';

/** `join`, `leave`, `members`, `typing`: a room name. */
export class RoomDto {
  @IsString()
  @Matches(ROOM_PATTERN, {
    message: 'room must be 1-64 characters of A-Z a-z 0-9 _ . -',
  })
  room: string;
}
