/** Unit and integration tests (real programs on loopback / in namespaces). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
  // esbuild, not ts-jest: types are checked once by tsc beside jest (scripts/run-tests.js)
  transform: { '^.+\\.ts$': '<rootDir>/test/esbuild-transform.js' },
  testTimeout: 60000,
  // More workers than this machine's 2 cores, on purpose: the integration suites spend most of
  // their wall time waiting on real programs (udpcast, partclone, TFTP clients, agents retrying)
  // with the CPU idle (e.g. agent.test.ts: 70 s wall, 10 s CPU). CLONAGE_TEST_WORKERS overrides.
  maxWorkers: Number(process.env.CLONAGE_TEST_WORKERS) || 4,
};
