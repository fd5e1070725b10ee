import { Global, Logger, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_CONFIG, APP_CONFIG_ENV_KEY } from './app-config.constants.js';
import type { AppConfig } from './app-config.interface.js';
import { loadAppConfig } from './app-config.loader.js';

/**
 * `validate` hook of `ConfigModule`: parses the environment (the `.env` file merged with
 * `process.env`) once and keeps the typed result beside the raw variables.
 */
function validateEnvironment(
  env: Record<string, unknown>,
): Record<string, unknown> {
  const strings: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') {
      strings[name] = value;
    }
  }
  return { ...env, [APP_CONFIG_ENV_KEY]: loadAppConfig(strings) };
}

/** Set once the "random JWT secret" warning has been logged, so it appears once per process. */
let warnedAboutGeneratedSecret = false;

/**
 * Global configuration: `ConfigModule.forRoot({ isGlobal: true, validate })` plus the typed
 * {@link AppConfig} under the {@link APP_CONFIG} token. Invalid variables fail start-up with
 * one `AppConfigError` naming each variable and value.
 *
 * Tests replace the configuration with
 * `.overrideProvider(APP_CONFIG).useValue(loadAppConfig({ ... }))`.
 *
 * @publicApi
 */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, validate: validateEnvironment }),
  ],
  providers: [
    {
      provide: APP_CONFIG,
      inject: [ConfigService],
      useFactory: (configService: ConfigService): AppConfig => {
        const config = configService.getOrThrow<AppConfig>(APP_CONFIG_ENV_KEY);
        if (config.jwtSecretGenerated && !warnedAboutGeneratedSecret) {
          warnedAboutGeneratedSecret = true;
          new Logger('AppConfig').warn(
            'JWT_SECRET is not set: using a random secret for this process only; tokens will not survive a restart or work across nodes',
          );
        }
        return config;
      },
    },
  ],
  exports: [APP_CONFIG],
})
export class AppConfigModule {}
