// Run by test/integration/quiet-logs.spec.ts in a child Jest: one passing and one failing test, both logging.
import { Logger } from '@nestjs/common';

const logger = new Logger('Sample');

it('passes after logging an error it provoked', () => {
  logger.error('provoked-in-passing-test');
});

it('fails after logging', () => {
  logger.error('logged-in-failing-test');
  logger.warn('warned-in-failing-test');
  expect(1).toBe(2);
});
