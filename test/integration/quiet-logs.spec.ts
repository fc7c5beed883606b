import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

describe('test output', () => {
  const run = (env: Record<string, string> = {}) =>
    spawnSync(
      process.execPath,
      [
        join(process.cwd(), 'node_modules/jest/bin/jest.js'),
        '--testMatch',
        '**/test/support/quiet-logs.sample.ts',
        '--runInBand',
        '--no-cache',
      ],
      {
        cwd: process.cwd(),
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules', TEST_LOGS: '', ...env },
      },
    );

  it("prints Nest's log lines of a failing test, and none of a passing one", () => {
    const { status, stderr } = run();
    expect(status).toBe(1);
    expect(stderr).toMatch(/logs of the failed test "fails after logging"/);
    expect(stderr).toMatch(/ERROR \[Sample\] logged-in-failing-test/);
    expect(stderr).toMatch(/WARN \[Sample\] warned-in-failing-test/);
    expect(stderr).not.toMatch(/provoked-in-passing-test/);
  });

  it('prints every line as it comes with TEST_LOGS=1', () => {
    const { stderr } = run({ TEST_LOGS: '1' });
    expect(stderr).toMatch(/ERROR \[Sample\] provoked-in-passing-test/);
  });
});
