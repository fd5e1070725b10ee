/** Unit specs beside the code and e2e specs in test/, ESM through ts-jest (see SETUP-NOTES). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  moduleNameMapper: {
    '^@app/ws-middleware$': '<rootDir>/libs/ws-middleware/src/index.ts',
    '^@app/ws-middleware/(.*)\\.js$': '<rootDir>/libs/ws-middleware/src/$1',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  roots: ['<rootDir>/src', '<rootDir>/libs', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  testTimeout: 20000,
};
