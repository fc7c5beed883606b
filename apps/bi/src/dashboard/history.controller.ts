import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import { StreamHistory } from 'nestjs-redis-streams';
import type { AppConfig } from '../../../shared/app-config.js';
import { AppRedis } from '../../../shared/app-redis.js';
import { STREAMS } from '../../../shared/redis-keys.js';
import { APP_CONFIG } from '../../../shared/tokens.js';

/** One page of a stream's past, as the dashboard's history view shows it. */
export interface HistoryPage {
  stream: string;
  entries: { id: string; at: string; data: unknown; headers: Record<string, string>; error?: string }[];
  /** The bound that reads the next page (`since` forward, `until` with `reverse`); null on the last page. */
  next: string | null;
}

const BOUND = /^(-|\+|\(?\d+(-\d+)?)$/;
const MAX_PAGE = 500;

/** GET /dashboard/history: a stream's entries by time range, decoded as the handlers see them, a page at a time. */
@Controller('dashboard')
export class HistoryController {
  private readonly history: StreamHistory;

  constructor(redis: AppRedis, @Inject(APP_CONFIG) config: AppConfig) {
    this.history = new StreamHistory(redis.client, { keyPrefix: config.keyPrefix });
  }

  @Get('history')
  async page(
    @Query('stream') stream: string,
    @Query('since') since = '-',
    @Query('until') until = '+',
    @Query('reverse') reverse = 'false',
    @Query('count') count = '50',
  ): Promise<HistoryPage> {
    const streams: string[] = Object.values(STREAMS);
    if (!streams.includes(stream)) throw new BadRequestException(`stream must be one of ${streams.join(', ')}.`);
    const size = Number(count);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
      throw new BadRequestException(`count must be a whole number from 1 to ${MAX_PAGE}.`);
    }
    const backwards = reverse === 'true' || reverse === '1';
    const range = { since: bound('since', since), until: bound('until', until), reverse: backwards };
    // One more than shown tells whether there is a next page.
    const entries = await this.history.list(stream, { ...range, limit: size + 1, pageSize: size + 1 });
    const more = entries.length > size;
    const shown = entries.slice(0, size);
    return {
      stream,
      entries: shown.map((e) => ({
        id: e.id,
        at: e.timestamp.toISOString(),
        data: e.data,
        headers: e.headers,
        ...(e.error ? { error: e.error } : {}),
      })),
      next: more ? `(${shown[shown.length - 1].id}` : null,
    };
  }
}

/** An id bound (`(id` excludes it), `-`, `+`, or an ISO time. */
function bound(name: string, value: string): string {
  if (BOUND.test(value)) return value;
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new BadRequestException(`${name} must be an entry id, "(id", "-", "+" or an ISO time; got "${value}".`);
}
