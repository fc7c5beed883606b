// Unit tests sit beside their source (libs/**/src/**/*.spec.ts, apps/**/*.spec.ts); integration tests talk to a private
// redis-server that test/support/redis-server.ts starts for each file. Chaos and e2e suites have configs of their own.
/** @type {import('jest').Config} */
export const base = {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^nestjs-redis-streams$': '<rootDir>/libs/redis-streams/src/index.ts',
    '^nestjs-redis-streams/health$': '<rootDir>/libs/redis-streams/src/health/index.ts',
    '^nestjs-redis-streams/metrics$': '<rootDir>/libs/redis-streams/src/metrics/index.ts',
    '^nestjs-redis-streams/tracing$': '<rootDir>/libs/redis-streams/src/tracing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  // Quiet passing tests: Nest's log lines are printed for failing tests only (TEST_LOGS=1 prints all).
  testEnvironment: '<rootDir>/test/support/quiet-environment.cjs',
  setupFilesAfterEnv: ['<rootDir>/test/support/quiet-logs.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/libs/redis-streams/dist', '<rootDir>/test/fixtures'],
};

export default {
  ...base,
  testMatch: [
    '<rootDir>/libs/**/src/**/*.spec.ts',
    '<rootDir>/apps/**/*.spec.ts',
    '<rootDir>/test/integration/**/*.spec.ts',
  ],
  // The Redis Cluster suite has its own stage: npm run test:cluster (test/jest-cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/cluster/'],
  testTimeout: 30_000,
};
