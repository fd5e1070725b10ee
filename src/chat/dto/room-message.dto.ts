import { IsString, Matches } from 'class-validator';
import { ROOM_PATTERN } from '../chat.constants.js';
import { IsChatText } from './chat-text.validator.js';

/** `message`: text to a room the sender has joined. */
export class RoomMessageDto {
  @IsString()
  @Matches(ROOM_PATTERN, {
    message: 'room must be 1-64 characters of A-Z a-z 0-9 _ . -',
  })
  room: string;

  @IsChatText()
  text: string;
}
