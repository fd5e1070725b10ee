import base from './jest.config.mjs';

/**
 * Browser end-to-end specs (playwright-core driving Debian's chromium at /usr/bin/chromium):
 * npm run test:browser. Screenshots go to test-artifacts/.
 */
export default {
  ...base,
  roots: ['<rootDir>/test/browser'],
  testRegex: '.*\\.browser-spec\\.ts$',
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 120000,
};
