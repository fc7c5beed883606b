/**
 * The least-privilege ACL of docs/security.md, as Redis ACL rules: what a service using the transport (server and
 * client) needs, and what an operator needs for the CLI, health checks and metrics gauges.
 */
export const APP_COMMANDS = [
  'ping',
  'info',
  'client|setname',
  'xadd',
  'xread',
  'xreadgroup',
  'xack',
  'xclaim',
  'xautoclaim',
  'xpending',
  'xrange',
  'xgroup|create',
  'xgroup|delconsumer',
  'xinfo|stream',
  'xinfo|groups',
  'xinfo|consumers',
  'evalsha',
  'eval',
  // request/response (send()): reply streams under the same prefix
  'exists',
  'pexpire',
  'xdel',
];
export const OPS_COMMANDS = [
  'ping',
  'info',
  'client|setname',
  'scan',
  'exists',
  'xlen',
  'xrange',
  'xinfo|stream',
  'xinfo|groups',
  'xinfo|consumers',
  // dead-letters replay: one script per entry, XRANGE + XADD + XDEL inside
  'evalsha',
  'eval',
  'xadd',
  'xdel',
];
