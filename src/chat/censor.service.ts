import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/app-config.constants.js';
import type { AppConfig } from '../config/app-config.interface.js';

const CENSORED_EVENTS = new Set(['message', 'private']);

/**
 * Masks `CENSORED_WORDS` with `*` (same length, case-insensitive, whole words only) in chat text,
 * plugged into the library's transform hook so that text is censored before it is validated,
 * stored or delivered.
 */
@Injectable()
export class CensorService {
  private readonly pattern: RegExp | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const words = config.censoredWords
      .map((word) => word.trim())
      .filter((word) => word.length > 0)
      .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = words.length
      ? new RegExp(
          `(?<![\\p{L}\\p{N}_])(?:${words.join('|')})(?![\\p{L}\\p{N}_])`,
          'giu',
        )
      : undefined;
  }

  /** `text` with every censored word masked. */
  mask(text: string): string {
    return this.pattern
      ? text.replace(this.pattern, (word) => '*'.repeat(word.length))
      : text;
  }

  /** The library transform hook: masks `data.text` of `message` and `private` frames. */
  transform(data: unknown, event: string): unknown {
    if (!this.pattern || !CENSORED_EVENTS.has(event)) {
      return data;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return data;
    }
    const text = (data as { text?: unknown }).text;
    return typeof text === 'string' ? { ...data, text: this.mask(text) } : data;
  }
}
