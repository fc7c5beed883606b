#!/usr/bin/env node
// `npx nestjs-redis-streams …`: the operator's view of the transport's streams, groups and dead letters.
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { GroupNotFoundError, StreamNotFoundError } from '../inspect/index.js';
import { CliError, UsageError } from './cli.error.js';
import { connectRedis } from './connect-redis.js';
import { listDeadLetters, replayDeadLetters } from './dead-letters.command.js';
import { statusCommand } from './status.command.js';
import { groupResetCommand } from './group-reset.command.js';
import { historyCommand } from './history.command.js';
import { tailCommand } from './tail.command.js';
import { GroupHasPendingError } from '../history/history.errors.js';
import { parseDuration, parsePosition, type StreamPosition } from '../history/stream-position.js';

const HELP = `Usage: nestjs-redis-streams <command> [options]

Commands:
  status                          Streams, consumer groups, consumers, pending entries and lag.
                                  Streams are discovered under --prefix unless named with --stream.
  dead-letters list <stream>      The oldest dead letters of <stream> (--count, default 100).
  dead-letters replay <stream>    Moves dead letters back onto <stream> as new entries:
                                  the given --id ones, or else the oldest --count (default 100).
  history <stream>                Entries from --since to --until (default: the whole stream), oldest
                                  first (--reverse: newest first), at most --count (default 100). A
                                  partitioned stream reads as one, by id (a page ends where the id
                                  changes: partitions can share ids).
  tail <stream>                   Prints entries as they are added, like tail -f (from --since if given);
                                  stops after --count entries if given, else at Ctrl-C. One stream: of a
                                  partitioned one, name a partition (Orders:p0).
  group reset <stream> <group>    Moves a consumer group to --to: it reads next from there (on every
                                  partition of a partitioned stream). Refused while its consumers hold
                                  pending entries, unless --force.

Options:
  --url <url>                 Redis URL (redis://user:password@host:port/db, rediss:// for TLS).
                              Default: $REDIS_URL, else redis://127.0.0.1:6379.
  --prefix <prefix>           The keyPrefix your apps use (default: none).
  --stream <name>             A stream to show (status); repeat or separate with commas.
  --group <name>              Only this consumer group (status).
  --id <id>                   A dead-letter id to replay; repeatable.
  --count <n>                 How many dead letters to list or replay (default 100).
  --dead-letter-suffix <s>    Suffix of dead-letter streams (default ":dead", the server's default).
  --since <when>, --until <when>
                              A range bound (history, tail): a duration ago (30s, 10m, 2h, 7d), an ISO
                              time (2026-11-27T10:00:00Z), an entry id ("(id" leaves it out), - or +.
  --reverse                   Newest entries first (history).
  --to <when>                 Where group reset moves the group: a duration ago or an ISO time (from the
                              first entry at or after it), an id (the entries after it), $ (end) or 0.
  --force                     Move a group even while its consumers hold pending entries (group reset).
  --max-age <duration>        The retention age your clients trim by (status warns about groups close
                              to losing entries to it), e.g. 7d.
  --cluster <host:port,…>     A Redis Cluster: some of its nodes, comma-separated, instead of --url.
                              Default: $REDIS_CLUSTER when --url is not given. Dead letters are then {stream}:dead.
  --tls-ca <file>             PEM file of the CA that signed Redis's certificate (rediss://).
  --json                      Print JSON instead of tables, for scripts.
  -h, --help                  Show this help.

Exit codes: 0 success, 1 failure (Redis unreachable, stream or group not found, …), 2 wrong usage.`;

async function main(argv: string[]): Promise<string> {
  const { values, positionals } = parse(argv);
  if (values.help || positionals.length === 0) return HELP;
  const [command, sub, stream, ...extra] = positionals;
  const count = parseCount(values.count);
  const cluster = values.cluster ?? (values.url ? undefined : process.env.REDIS_CLUSTER);
  const common = {
    prefix: values.prefix ?? '',
    deadLetterSuffix: values['dead-letter-suffix'] ?? ':dead',
    cluster: cluster !== undefined,
    json: values.json ?? false,
  };
  const connect = (): Promise<Redis> =>
    connectRedis({
      url: values.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      cluster,
      tlsCa: values['tls-ca'],
    });

  if (command === 'status') {
    if (sub !== undefined)
      throw new UsageError(`\`status\` takes no arguments (got "${sub}"); name streams with --stream.`);
    const streams = (values.stream ?? []).flatMap((s) => s.split(',')).filter((s) => s.length > 0);
    const maxAge = values['max-age'] === undefined ? undefined : duration('--max-age', values['max-age']);
    return withRedis(connect, (redis) => statusCommand(redis, { ...common, streams, group: values.group, maxAge }));
  }
  if (command === 'dead-letters') {
    if (sub !== 'list' && sub !== 'replay') {
      throw new UsageError(
        `\`dead-letters\` takes \`list <stream>\` or \`replay <stream>\`${sub ? ` (got "${sub}")` : ''}.`,
      );
    }
    if (!stream)
      throw new UsageError(
        `\`dead-letters ${sub}\` needs the stream name: nestjs-redis-streams dead-letters ${sub} <stream>.`,
      );
    if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')}.`);
    if (sub === 'list' && values.id) throw new UsageError('--id only applies to `dead-letters replay`.');
    const options = { ...common, stream, count, ids: values.id ?? [] };
    return withRedis(connect, (redis) =>
      sub === 'list' ? listDeadLetters(redis, options) : replayDeadLetters(redis, options),
    );
  }
  if (command === 'history' || command === 'tail') {
    // `history <stream>` and `tail <stream>`: the stream is the first argument.
    if (!sub) throw new UsageError(`\`${command}\` needs the stream name: nestjs-redis-streams ${command} <stream>.`);
    if (stream !== undefined || extra.length > 0)
      throw new UsageError(`Unexpected arguments: ${[stream, ...extra].join(' ')}.`);
    const now = Date.now();
    if (command === 'history') {
      const options = {
        ...common,
        stream: sub,
        since: position('--since', values.since ?? '-', now),
        until: position('--until', values.until ?? '+', now),
        reverse: values.reverse ?? false,
        count,
      };
      return withRedis(connect, (redis) => historyCommand(redis, options));
    }
    if (values.until !== undefined) throw new UsageError('`tail` follows new entries: it takes --since, not --until.');
    const options = {
      ...common,
      stream: sub,
      since: values.since === undefined ? undefined : position('--since', values.since, now),
      count: values.count === undefined ? undefined : count,
      write: (line: string) => process.stdout.write(`${line}\n`),
      started: (message: string) => process.stderr.write(`${message}\n`),
      interrupted: new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      }),
    };
    return withRedis(connect, (redis) => tailCommand(redis, options));
  }
  if (command === 'group') {
    if (sub !== 'reset')
      throw new UsageError(`\`group\` takes \`reset <stream> <group>\`${sub ? ` (got "${sub}")` : ''}.`);
    const [group, ...rest] = extra;
    if (!stream || !group)
      throw new UsageError(
        '`group reset` needs a stream and a group: nestjs-redis-streams group reset <stream> <group> --to <when>.',
      );
    if (rest.length > 0) throw new UsageError(`Unexpected arguments: ${rest.join(' ')}.`);
    if (values.to === undefined)
      throw new UsageError('`group reset` needs --to: a duration ago, an ISO time, an id, $ or 0.');
    const to = values.to === '$' ? '$' : position('--to', values.to, Date.now());
    const options = { ...common, stream, group, to, force: values.force ?? false };
    return withRedis(connect, (redis) => groupResetCommand(redis, options));
  }
  throw new UsageError(
    `Unknown command "${command}". The commands are: status, dead-letters list, dead-letters replay, history, tail, group reset.`,
  );
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        cluster: { type: 'string' },
        prefix: { type: 'string' },
        stream: { type: 'string', multiple: true },
        group: { type: 'string' },
        id: { type: 'string', multiple: true },
        count: { type: 'string' },
        'dead-letter-suffix': { type: 'string' },
        'tls-ca': { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        reverse: { type: 'boolean' },
        to: { type: 'string' },
        force: { type: 'boolean' },
        'max-age': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseCount(value: string | undefined): number {
  if (value === undefined) return 100;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError(`--count takes a whole number >= 1 (got "${value}").`);
  return count;
}

function position(option: string, text: string, now: number): StreamPosition {
  const parsed = parsePosition(text, now);
  if (parsed === undefined) {
    throw new UsageError(
      `${option} takes a duration ago (10m, 2h, 7d), an ISO time (2026-11-27T10:00:00Z), an entry id, - or + (got "${text}").`,
    );
  }
  return parsed;
}

function duration(option: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`${option} takes a duration such as 12h or 7d (got "${text}").`);
  return ms;
}

async function withRedis(connect: () => Promise<Redis>, run: (redis: Redis) => Promise<string>): Promise<string> {
  const redis = await connect();
  try {
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

/** Turns what went wrong into one readable line; unexpected errors keep their stack for a bug report. */
function report(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof StreamNotFoundError || err instanceof GroupNotFoundError || err instanceof GroupHasPendingError)
    return { message: err.message, exitCode: 1 };
  if (err instanceof Error && /^NOPERM/.test(err.message)) {
    return {
      message: `The Redis user lacks a permission the CLI needs: ${err.message}. See docs/security.md for the ACL.`,
      exitCode: 1,
    };
  }
  if (err instanceof Error && /Connection is closed|ECONNRESET|ETIMEDOUT/.test(err.message)) {
    return {
      message: `Lost the connection to Redis: ${err.message}. Check that Redis is running and reachable.`,
      exitCode: 1,
    };
  }
  return { message: err instanceof Error ? (err.stack ?? err.message) : String(err), exitCode: 1 };
}

main(process.argv.slice(2)).then(
  (output) => {
    if (output) process.stdout.write(`${output}\n`);
  },
  (err: unknown) => {
    const { message, exitCode } = report(err);
    process.stderr.write(`nestjs-redis-streams: ${message}\n`);
    process.exitCode = exitCode;
  },
);
