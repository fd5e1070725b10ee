import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { APP_CONFIG } from './app-config.constants.js';
import type { AppConfig } from './app-config.interface.js';
import { AppConfigModule } from './app-config.module.js';

describe(AppConfigModule.name, () => {
  it('provides the parsed environment under APP_CONFIG, and ConfigService', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule],
    }).compile();
    const config = moduleRef.get<AppConfig>(APP_CONFIG);
    expect(config.port).toBe(
      process.env.PORT === undefined ? 3000 : Number(process.env.PORT),
    );
    expect(Object.isFrozen(config)).toBe(true);
    expect(moduleRef.get(ConfigService)).toBeInstanceOf(ConfigService);
    await moduleRef.close();
  });
});
