import { base } from '../jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  rootDir: '..',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 180_000,
  maxWorkers: 1,
};
