import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { APP_CONFIG } from '../config/app-config.constants.js';
import type { AppConfig } from '../config/app-config.interface.js';
import { DEMO_ACCOUNTS } from './auth.constants.js';
import { PasswordHasher } from './password.hasher.js';
import { UsersService } from './users.service.js';

/**
 * Seeds the demo users alice/wonderland and bob/builder at start when `DEMO_USERS` is true.
 * Idempotent: existing users are left as they are, and nodes starting together do not clash.
 *
 * @publicApi
 */
@Injectable()
export class DemoUsersSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger(DemoUsersSeeder.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.demoUsers) {
      return;
    }
    await Promise.all(
      DEMO_ACCOUNTS.map(async ({ username, password }) => {
        if (!(await this.users.exists(username))) {
          await this.users.create(username, await this.hasher.hash(password));
        }
      }),
    );
    this.logger.log(
      `Demo users ready: ${DEMO_ACCOUNTS.map((account) => account.username).join(', ')}`,
    );
  }
}
