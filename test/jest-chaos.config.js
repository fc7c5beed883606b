import { base } from '../jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  rootDir: '..',
  testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'],
  // Compiles the library for the worker processes, which import it built, as an application would.
  globalSetup: '<rootDir>/test/chaos/global-setup.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
};
