import { AppConfigError } from './app-config.error.js';
import { loadAppConfig } from './app-config.loader.js';

const SECRET = 'x'.repeat(40);

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadAppConfig(env);
  } catch (error) {
    if (error instanceof AppConfigError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected loadAppConfig to throw');
}

describe(loadAppConfig.name, () => {
  it('applies the defaults of PROTOCOL.md to an empty environment', () => {
    const config = loadAppConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      port: 3000,
      jwtExpiresIn: 1800,
      databaseUrl: undefined,
      sqlitePath: './data/chat.sqlite',
      redisUrl: undefined,
      demoUsers: true,
      wsRateLimit: 60,
      wsMaxConnectionsPerUser: 5,
      wsMaxConnectionsPerIp: 50,
      wsMaxConnections: 10000,
      wsConnectRateLimit: 120,
      trustProxy: 0,
      wsMaxMessageBytes: 65536,
      wsHeartbeatMs: 30000,
      wsAllowedOrigins: [],
      censoredWords: [],
      logLevel: 'log',
      logLevels: ['fatal', 'error', 'warn', 'log'],
    });
  });

  it('generates one random JWT secret per process when JWT_SECRET is unset', () => {
    const first = loadAppConfig({});
    const second = loadAppConfig({ NODE_ENV: 'test' });
    expect(first.jwtSecretGenerated).toBe(true);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(second.jwtSecret).toBe(first.jwtSecret);
  });

  it('reads every variable', () => {
    const config = loadAppConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      JWT_SECRET: SECRET,
      JWT_EXPIRES_IN: '60',
      DATABASE_URL: 'postgres://chat:pw@db:5432/chat',
      SQLITE_PATH: ':memory:',
      REDIS_URL: 'redis://cache:6379',
      DEMO_USERS: 'yes',
      WS_RATE_LIMIT: '10',
      WS_MAX_CONNECTIONS_PER_USER: '2',
      WS_MAX_CONNECTIONS_PER_IP: '3',
      WS_MAX_CONNECTIONS: '4',
      WS_CONNECT_RATE_LIMIT: '5',
      TRUST_PROXY: '1',
      WS_MAX_MESSAGE_BYTES: '1024',
      WS_HEARTBEAT_MS: '250',
      WS_ALLOWED_ORIGINS: ' https://Chat.Example.com , http://localhost:8080/ ',
      CENSORED_WORDS: 'darn, heck,,darn ',
      LOG_LEVEL: 'DEBUG',
    });
    expect(config).toEqual({
      nodeEnv: 'production',
      isProduction: true,
      port: 8080,
      jwtSecret: SECRET,
      jwtSecretGenerated: false,
      jwtExpiresIn: 60,
      databaseUrl: 'postgres://chat:pw@db:5432/chat',
      sqlitePath: ':memory:',
      redisUrl: 'redis://cache:6379',
      redisPrefix: 'chat:',
      clusterHeartbeatMs: 5000,
      demoUsers: true,
      wsRateLimit: 10,
      wsMaxConnectionsPerUser: 2,
      wsMaxConnectionsPerIp: 3,
      wsMaxConnections: 4,
      wsConnectRateLimit: 5,
      trustProxy: 1,
      wsMaxMessageBytes: 1024,
      wsHeartbeatMs: 250,
      wsAllowedOrigins: ['https://chat.example.com', 'http://localhost:8080'],
      censoredWords: ['darn', 'heck'],
      logLevel: 'debug',
      logLevels: ['fatal', 'error', 'warn', 'log', 'debug'],
    });
  });

  it('treats blank values as unset', () => {
    const config = loadAppConfig({
      PORT: '',
      DATABASE_URL: '  ',
      LOG_LEVEL: '',
    });
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.logLevel).toBe('log');
  });

  it('defaults DEMO_USERS to false in production', () => {
    expect(
      loadAppConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).demoUsers,
    ).toBe(false);
    expect(loadAppConfig({ DEMO_USERS: 'false' }).demoUsers).toBe(false);
  });

  it('returns a frozen object', () => {
    const config = loadAppConfig({ CENSORED_WORDS: 'a' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.censoredWords)).toBe(true);
  });

  it.each([
    ['PORT', 'abc', 'PORT="abc" must be an integer from 0 to 65535'],
    ['PORT', '70000', 'PORT="70000"'],
    ['JWT_EXPIRES_IN', '30m', 'JWT_EXPIRES_IN="30m" must be an integer'],
    ['WS_RATE_LIMIT', '0', 'WS_RATE_LIMIT="0" must be an integer from 1'],
    ['WS_MAX_CONNECTIONS', '-1', 'WS_MAX_CONNECTIONS="-1"'],
    ['WS_HEARTBEAT_MS', '1.5', 'WS_HEARTBEAT_MS="1.5"'],
    ['DEMO_USERS', 'maybe', 'DEMO_USERS="maybe" must be true or false'],
    [
      'LOG_LEVEL',
      'trace',
      'LOG_LEVEL="trace" must be one of error, warn, log, debug, verbose',
    ],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL="localhost:6379" must be a URL'],
    [
      'WS_ALLOWED_ORIGINS',
      'https://a.com/path',
      'WS_ALLOWED_ORIGINS entry "https://a.com/path"',
    ],
    ['WS_ALLOWED_ORIGINS', '*', 'WS_ALLOWED_ORIGINS entry "*"'],
  ])('refuses %s=%s naming the variable and the value', (name, value, text) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(text);
  });

  it('reports every invalid variable in one error', () => {
    expect(() => loadAppConfig({ PORT: 'x', WS_RATE_LIMIT: 'y' })).toThrow(
      'Invalid configuration: PORT="x" must be an integer from 0 to 65535; WS_RATE_LIMIT="y"',
    );
  });

  it('hides the password of a bad DATABASE_URL', () => {
    const [problem] = problemsOf({
      DATABASE_URL: 'mysql://chat:hunter2@db/chat',
    });
    expect(problem).toContain('DATABASE_URL="mysql://chat:***@db/chat"');
    expect(problem).not.toContain('hunter2');
  });

  it('requires JWT_SECRET in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'JWT_SECRET is required when NODE_ENV=production (at least 32 characters)',
    ]);
  });

  it('refuses a short JWT_SECRET in production without printing it', () => {
    const secret = 'short-secret-value';
    const [problem] = problemsOf({
      NODE_ENV: 'production',
      JWT_SECRET: secret,
    });
    expect(problem).toContain('JWT_SECRET');
    expect(problem).toContain('at least 32 characters');
    expect(problem).not.toContain(secret);
  });

  it('accepts a short JWT_SECRET outside production', () => {
    const config = loadAppConfig({ JWT_SECRET: 'dev' });
    expect(config.jwtSecret).toBe('dev');
    expect(config.jwtSecretGenerated).toBe(false);
  });
});
