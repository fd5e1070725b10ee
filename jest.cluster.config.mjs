import base from './jest.config.mjs';

/** Multi-process and external-service specs (Redis, PostgreSQL): npm run test:cluster. */
export default {
  ...base,
  roots: ['<rootDir>/test/cluster'],
  testRegex: '.*\\.cluster-spec\\.ts$',
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 60000,
};
