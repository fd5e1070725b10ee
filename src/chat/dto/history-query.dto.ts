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
import { IsMessageId } from './message-id.validator.js';

/**
 * `null` means "not given": `@IsOptional()` lets it through, so it becomes `undefined` here and
 * the service never queries with it (a null cursor or `with` used to fail as INTERNAL).
 */
const absentIfNull = ({ value }: { value: unknown }): unknown =>
  value === null ? undefined : value;
const toIdString = ({ value }: { value: unknown }): unknown =>
  typeof value === 'number' && Number.isSafeInteger(value)
    ? String(value)
    : absentIfNull({ value });

/** `history`: a room or a conversation (`with`), paged by message ids; `null` counts as absent. */
export class HistoryQueryDto {
  @IsOptional()
  @Transform(absentIfNull)
  @IsString()
  @Matches(ROOM_PATTERN, {
    message: 'room must be 1-64 characters of A-Z a-z 0-9 _ . -',
  })
  room?: string;

  @IsOptional()
  @Transform(absentIfNull)
  @IsString()
  @Length(1, 64)
  with?: string;

  @IsOptional()
  @Transform(toIdString)
  @IsMessageId()
  after?: string;

  @IsOptional()
  @Transform(toIdString)
  @IsMessageId()
  before?: string;

  @IsOptional()
  @Transform(absentIfNull)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
