/**
 * Injection token of the validated {@link AppConfig}.
 *
 * @example
 * constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}
 *
 * @publicApi
 */
export const APP_CONFIG = 'APP_CONFIG';

/** Key under which the parsed configuration is kept in `ConfigService`'s validated environment. */
export const APP_CONFIG_ENV_KEY = '__APP_CONFIG__';

/** Default `SQLITE_PATH`. */
export const DEFAULT_SQLITE_PATH = './data/chat.sqlite';

/** Minimum length of `JWT_SECRET` in production. */
export const MIN_JWT_SECRET_LENGTH = 32;
