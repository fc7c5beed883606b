import { base } from '../jest.config.js';

/**
 * `npm run test:compose` (scripts/test-compose.sh, which sets E2E_COMPOSE=1): the e2e suites against the docker
 * compose deployment, and what only containers show.
 * @type {import('jest').Config}
 */
export default {
  ...base,
  rootDir: '..',
  testMatch: ['<rootDir>/test/*.e2e-spec.ts', '<rootDir>/test/*.compose-spec.ts'],
  testPathIgnorePatterns: ['<rootDir>/test/compose.e2e-spec.ts'],
  testTimeout: 300_000,
  maxWorkers: 1,
};
