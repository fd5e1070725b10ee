import {
  BadRequestException,
  Injectable,
  type ArgumentMetadata,
  type PipeTransform,
} from '@nestjs/common';

/** Deepest nesting of arrays and objects accepted in a request body. */
export const MAX_BODY_DEPTH = 32;

/**
 * Refuses a request body nested more than {@link MAX_BODY_DEPTH} levels deep with a 400 in Nest's
 * validation shape, before `ValidationPipe` runs: class-transformer recurses, so a 100 KB JSON body
 * of `[[[...]]]` would overflow the stack and answer 500 after a few hundred milliseconds of CPU.
 *
 * @publicApi
 */
@Injectable()
export class BodyDepthPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && exceedsDepth(value, MAX_BODY_DEPTH)) {
      throw new BadRequestException([
        `request body must not be nested more than ${MAX_BODY_DEPTH} levels deep`,
      ]);
    }
    return value;
  }
}

/** Whether `value` nests arrays or objects deeper than `maxDepth`; iterative, so it cannot overflow. */
function exceedsDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [node, depth] = entry;
    if (typeof node !== 'object' || node === null) {
      continue;
    }
    if (depth > maxDepth) {
      return true;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return false;
}
