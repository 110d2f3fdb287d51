/** End-to-end suites: QEMU PCs PXE-booting in a namespace, browser tests. Run serially. */
const base = require('./jest.config.js');
module.exports = { ...base, testPathIgnorePatterns: ['/node_modules/'], testMatch: ['**/test/e2e/**/*.test.ts'], testTimeout: 900000, maxWorkers: 1 };
