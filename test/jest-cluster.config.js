import { base } from '../jest.config.js';

/**
 * The Redis Cluster suite: each file starts a private cluster of 6 redis-servers (~7 s), so the files run one at a
 * time, apart from `npm test`, whose timing-sensitive tests the cluster's gossip would load.
 */
/** @type {import('jest').Config} */
export default {
  ...base,
  rootDir: '..',
  testMatch: ['<rootDir>/test/integration/cluster/**/*.spec.ts'],
  testTimeout: 60_000,
  maxWorkers: 1,
};
