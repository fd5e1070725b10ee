/** Unit specs beside the code and e2e specs in test/, ESM through ts-jest (see SETUP-NOTES). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true }],
    '/node_modules/@nestjs/throttler/.+\\.js$': '<rootDir>/test/jest/cjs-esm-bridge.cjs',
    '/node_modules/@nest-lab/throttler-storage-redis/.+\\.js$':
      '<rootDir>/test/jest/cjs-esm-bridge.cjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs/throttler|@nest-lab/throttler-storage-redis)/)'],
  setupFilesAfterEnv: ['<rootDir>/test/jest/esm-bridge.setup.ts'],
  moduleNameMapper: {
    '^@app/ws-middleware$': '<rootDir>/libs/ws-middleware/src/index.ts',
    '^@app/ws-middleware/(.*)\\.js$': '<rootDir>/libs/ws-middleware/src/$1',
    '^@app/ws-client$': '<rootDir>/libs/ws-client/src/index.ts',
    '^@app/ws-client/(.*)\\.js$': '<rootDir>/libs/ws-client/src/$1',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  roots: ['<rootDir>/src', '<rootDir>/libs', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  testTimeout: 20000,
};
