import { ConsoleLogger } from '@nestjs/common';
import { inspect } from 'node:util';

/**
 * A ConsoleLogger that keeps every line it is given, at every level, as `<level> <message> ...`
 * instead of printing it, so specs can assert what was (and was not) logged.
 */
export class CapturingLogger extends ConsoleLogger {
  readonly lines: string[] = [];

  private capture(level: string, message: unknown, rest: unknown[]): void {
    const text = [message, ...rest]
      .map((part) => (typeof part === 'string' ? part : inspect(part)))
      .join(' ');
    this.lines.push(`${level} ${text}`);
  }

  override log(message: unknown, ...rest: unknown[]): void {
    this.capture('log', message, rest);
  }
  override error(message: unknown, ...rest: unknown[]): void {
    this.capture('error', message, rest);
  }
  override warn(message: unknown, ...rest: unknown[]): void {
    this.capture('warn', message, rest);
  }
  override debug(message: unknown, ...rest: unknown[]): void {
    this.capture('debug', message, rest);
  }
  override verbose(message: unknown, ...rest: unknown[]): void {
    this.capture('verbose', message, rest);
  }
  override fatal(message: unknown, ...rest: unknown[]): void {
    this.capture('fatal', message, rest);
  }
}
