import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RedisLoginAttemptStore } from '../cluster/redis-login-attempt.store.js';
import { RedisService } from '../cluster/redis.service.js';
import { APP_CONFIG } from '../config/app-config.constants.js';
import type { AppConfig } from '../config/app-config.interface.js';
import { UserEntity } from '../database/entities/user.entity.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { DemoUsersSeeder } from './demo-users.seeder.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { LoginAttemptStore } from './login-attempt-store.interface.js';
import { MemoryLoginAttemptStore } from './memory-login-attempt.store.js';
import { PasswordHasher } from './password.hasher.js';
import { UsersService } from './users.service.js';

/**
 * Users, password login and JWT access tokens (HS256, secret from `APP_CONFIG`).
 * Needs `AppConfigModule` and `DatabaseModule` in the application. Exports `AuthService`,
 * `UsersService`, `JwtAuthGuard` and the configured `JwtModule`.
 *
 * @publicApi
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([UserEntity]),
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtSecret,
        signOptions: { algorithm: 'HS256', expiresIn: config.jwtExpiresIn },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    UsersService,
    PasswordHasher,
    DemoUsersSeeder,
    JwtAuthGuard,
    {
      provide: LoginAttemptStore,
      // Cluster-wide with REDIS_URL (ClusterModule, global, when the app has it).
      inject: [{ token: RedisService, optional: true }],
      useFactory: (redis?: RedisService) =>
        redis?.enabled
          ? new RedisLoginAttemptStore(redis)
          : new MemoryLoginAttemptStore(),
    },
  ],
  exports: [AuthService, UsersService, JwtAuthGuard, JwtModule],
})
export class AuthModule {}
