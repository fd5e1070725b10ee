import { IsString, Length } from 'class-validator';
import { IsChatText } from './chat-text.validator.js';

/** `private`: text to one user. */
export class PrivateMessageDto {
  @IsString()
  @Length(1, 64)
  to: string;

  @IsChatText()
  text: string;
}
