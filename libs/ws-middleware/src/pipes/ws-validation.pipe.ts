import {
  Injectable,
  Optional,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidatorOptions } from 'class-validator';
import { WsError, type WsFieldError } from '../errors/ws-error.js';

/** Flattens class-validator errors into `{field, message}` with dotted paths for nested fields. */
export function flattenValidationErrors(
  errors: ValidationError[],
  prefix = '',
): WsFieldError[] {
  const result: WsFieldError[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      result.push({ field, message });
    }
    if (error.children?.length) {
      result.push(...flattenValidationErrors(error.children, field));
    }
  }
  return result;
}

/**
 * Nest's `ValidationPipe` for message bodies (class-validator DTOs), answering
 * `VALIDATION_FAILED` with `errors: [{field, message}]` instead of "Internal server error".
 * Defaults: `transform`, `whitelist`; `data` that is not an object fails as field `data`.
 *
 * @publicApi
 */
@Injectable()
export class WsValidationPipe extends ValidationPipe {
  constructor(@Optional() options: ValidationPipeOptions = {}) {
    super({
      transform: true,
      whitelist: true,
      ...options,
      exceptionFactory: (errors) =>
        WsError.validation(flattenValidationErrors(errors)),
    });
  }

  async transform(
    value: unknown,
    metadata: ArgumentMetadata,
  ): Promise<unknown> {
    // Only the @MessageBody() argument: Nest reports it as 'body'.
    if (metadata.type !== 'body' || !metadata.metatype) {
      return value;
    }
    if (!this.toValidate(metadata)) {
      return value;
    }
    const body = value === undefined || value === null ? {} : value;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw WsError.validation([
        { field: 'data', message: 'data must be an object' },
      ]);
    }
    // Nest's ValidationPipe.transform costs ~15 µs for a one-field DTO against ~4 µs for the
    // work itself (measured); a WebSocket frame pays it on every message, so this is the lean path.
    const entity = plainToInstance(
      metadata.metatype as new () => object,
      stripUnsafeKeys(body),
      this.transformOptions,
    );
    const errors = this.validate(entity, this.validatorOptions);
    if (errors.length > 0) {
      throw this.exceptionFactory(errors) as Error;
    }
    return this.isTransformEnabled ? entity : body;
  }

  /**
   * class-validator's synchronous path: the message DTOs have no async constraints, and the
   * promise-based `validate` costs a chain of microtasks per frame (the biggest cost of the
   * default stack in `npm run bench`). Async constraints are therefore not supported here.
   */
  protected validate(
    object: object,
    validatorOptions?: ValidatorOptions,
  ): ValidationError[] {
    return validateSync(object, validatorOptions);
  }
}

const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * Deletes `__proto__`, `constructor` and `prototype` own keys (JSON.parse creates them as plain
 * data) at every depth, iteratively so that deep nesting cannot overflow the stack.
 */
function stripUnsafeKeys<T extends object>(root: T): T {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) {
      continue;
    }
    if (!Array.isArray(node)) {
      for (const key of UNSAFE_KEYS) {
        if (Object.hasOwn(node, key)) {
          delete (node as Record<string, unknown>)[key];
        }
      }
    }
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
      }
    }
  }
  return root;
}
