import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { ROOM_PATTERN } from '../chat.constants.js';

const MESSAGE_ID = /^[0-9]{1,19}$/;
const toIdString = ({ value }: { value: unknown }): unknown =>
  typeof value === 'number' && Number.isSafeInteger(value)
    ? String(value)
    : value;

/** `history`: a room or a conversation (`with`), paged by message ids. */
export class HistoryQueryDto {
  @IsOptional()
  @IsString()
  @Matches(ROOM_PATTERN, {
    message: 'room must be 1-64 characters of A-Z a-z 0-9 _ . -',
  })
  room?: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  with?: string;

  @IsOptional()
  @Transform(toIdString)
  @Matches(MESSAGE_ID, { message: 'after must be a message id' })
  after?: string;

  @IsOptional()
  @Transform(toIdString)
  @Matches(MESSAGE_ID, { message: 'before must be a message id' })
  before?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
