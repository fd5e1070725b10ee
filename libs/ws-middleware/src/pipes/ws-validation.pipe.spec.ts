import type { ValidationError } from '@nestjs/common';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsNotEmpty,
  IsString,
  MaxLength,
  ValidateNested,
  validateSync,
} from 'class-validator';
import { flattenValidationErrors } from './ws-validation.pipe.js';

/** A class-validator error for `property`, with the given constraints and children. */
function fieldError(
  property: string,
  constraints?: Record<string, string>,
  children: ValidationError[] = [],
): ValidationError {
  return { property, constraints, children };
}

class AuthorDto {
  @IsString()
  @IsNotEmpty()
  name: string;
}

class MessageDto {
  @IsString()
  @MaxLength(5)
  text: string;

  @ValidateNested()
  @Type(() => AuthorDto)
  author: AuthorDto;

  @ValidateNested({ each: true })
  @Type(() => AuthorDto)
  mentions: AuthorDto[];
}

describe(flattenValidationErrors.name, () => {
  it('returns nothing for no errors', () => {
    expect(flattenValidationErrors([])).toEqual([]);
  });

  it('gives one entry per constraint of a top-level field', () => {
    const errors = [
      fieldError('text', {
        isString: 'text must be a string',
        maxLength: 'text must be shorter than or equal to 5 characters',
      }),
      fieldError('room', { isNotEmpty: 'room should not be empty' }),
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'text', message: 'text must be a string' },
      {
        field: 'text',
        message: 'text must be shorter than or equal to 5 characters',
      },
      { field: 'room', message: 'room should not be empty' },
    ]);
  });

  it('joins nested fields with dots, at any depth', () => {
    const errors = [
      fieldError('author', undefined, [
        fieldError('name', { isNotEmpty: 'name should not be empty' }),
        fieldError('address', undefined, [
          fieldError('city', { isString: 'city must be a string' }),
        ]),
      ]),
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'author.name', message: 'name should not be empty' },
      { field: 'author.address.city', message: 'city must be a string' },
    ]);
  });

  it('lists the constraints of a parent before those of its children', () => {
    const errors = [
      fieldError('author', { isObject: 'author must be an object' }, [
        fieldError('name', { isString: 'name must be a string' }),
      ]),
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'author', message: 'author must be an object' },
      { field: 'author.name', message: 'name must be a string' },
    ]);
  });

  it('uses array indexes as path segments', () => {
    const errors = [
      fieldError('mentions', undefined, [
        fieldError('1', undefined, [
          fieldError('name', { isString: 'name must be a string' }),
        ]),
      ]),
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'mentions.1.name', message: 'name must be a string' },
    ]);
  });

  it('prepends a given prefix', () => {
    expect(
      flattenValidationErrors(
        [fieldError('name', { isString: 'name must be a string' })],
        'data',
      ),
    ).toEqual([{ field: 'data.name', message: 'name must be a string' }]);
  });

  it('flattens the errors class-validator produces for a nested DTO', () => {
    const message = plainToInstance(MessageDto, {
      text: 'far too long',
      author: { name: '' },
      mentions: [{ name: 'ada' }, { name: 7 }],
    });

    expect(flattenValidationErrors(validateSync(message))).toEqual([
      {
        field: 'text',
        message: 'text must be shorter than or equal to 5 characters',
      },
      { field: 'author.name', message: 'name should not be empty' },
      { field: 'mentions.1.name', message: 'name must be a string' },
    ]);
  });
});
