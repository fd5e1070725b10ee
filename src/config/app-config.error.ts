/**
 * Thrown when the environment holds invalid configuration. Its message lists every problem,
 * naming the variable and its value (secrets are never included).
 *
 * @publicApi
 */
export class AppConfigError extends Error {
  /** One entry per invalid variable, e.g. `PORT="abc" must be an integer from 0 to 65535`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'AppConfigError';
    this.problems = problems;
  }
}
