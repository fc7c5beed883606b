// Jest's node environment, quiet for passing tests: Nest's log lines of each test (many are errors the test provokes
// on purpose) are kept by test/support/quiet-logs.ts and printed only when that test fails. Lines logged outside any
// test (hooks, late shutdown) are printed when the file ends if any of its tests failed. TEST_LOGS=1 prints them all,
// as they come. Anything not logged through Nest's Logger (console, uncaught errors, Jest's own report) is untouched.
const { TestEnvironment } = require('jest-environment-node');

class QuietEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.lines = [];
    this.outside = [];
    this.failed = false;
    this.testPath = context.testPath;
    this.global.__testLogs = { live: process.env.TEST_LOGS === '1', push: (line) => this.current().push(line) };
  }

  current() {
    return this.inTest ? this.lines : this.outside;
  }

  handleTestEvent(event) {
    if (event.name === 'test_start') {
      this.inTest = true;
      this.lines = [];
    } else if (event.name === 'test_done') {
      this.inTest = false;
      if (event.test.errors.length > 0) {
        this.failed = true;
        this.print(`logs of the failed test "${fullName(event.test)}"`, this.lines);
      }
      this.lines = [];
    }
  }

  async teardown() {
    if (this.failed) this.print(`logs outside tests of ${this.testPath}`, this.outside);
    await super.teardown();
  }

  print(title, lines) {
    if (lines.length === 0) return;
    process.stderr.write(`\n── ${title} ──\n${lines.join('\n')}\n── end ──\n`);
  }
}

function fullName(test) {
  const names = [];
  for (let block = test; block && block.name !== 'ROOT_DESCRIBE_BLOCK'; block = block.parent) names.unshift(block.name);
  return names.join(' › ');
}

module.exports = QuietEnvironment;
