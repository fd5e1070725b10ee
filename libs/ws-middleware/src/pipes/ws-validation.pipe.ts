import {
  Injectable,
  Optional,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
  type ValidationPipeOptions,
} from '@nestjs/common';
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
    return super.transform(body, metadata);
  }
}
