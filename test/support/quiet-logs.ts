// Routes Nest's Logger to test/support/quiet-environment.cjs, which prints a test's lines only if it fails.
import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { format } from 'node:util';

interface TestLogs {
  live: boolean;
  push(line: string): void;
}

const logs = (globalThis as { __testLogs?: TestLogs }).__testLogs;

class TestLogger implements LoggerService {
  private levels: LogLevel[] = ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'];

  log = this.write('log');
  error = this.write('error');
  warn = this.write('warn');
  debug = this.write('debug');
  verbose = this.write('verbose');
  fatal = this.write('fatal');

  setLogLevels(levels: LogLevel[]): void {
    this.levels = levels;
  }

  private write(level: LogLevel) {
    return (message: unknown, ...params: unknown[]): void => {
      if (!this.levels.includes(level) || !logs) return;
      // Nest passes the context last; an error's stack comes before it.
      const last = params[params.length - 1];
      const context = typeof last === 'string' ? (params.pop() as string) : undefined;
      const text = [message, ...params].map((part) => (part instanceof Error ? part.stack : part));
      const line = `${level.toUpperCase().padStart(7)} ${context ? `[${context}] ` : ''}${format(...text)}`;
      if (logs.live) process.stderr.write(`${line}\n`);
      else logs.push(line);
    };
  }
}

if (logs) {
  const logger = new TestLogger();
  Logger.overrideLogger(logger);
  // A test that starts an app with `logger: false` removes it; the next test gets it back.
  beforeEach(() => Logger.overrideLogger(logger));
  // @nestjs/testing installs its own console logger with every compiled TestingModule (unless `setLogger()` is called).
  const override = Logger.overrideLogger.bind(Logger);
  Logger.overrideLogger = (next) => override(next?.constructor?.name === 'TestingLogger' ? logger : next);
}
