// The BI dashboard in a real browser: Debian's chromium, headless, driven by playwright-core. Traffic goes in through
// the gateway's HTTP API; the page must show the entries live (SSE from the broadcast handlers) and the streams'
// figures (XINFO) changing. Needs `npm run build` and chromium (`bash scripts/ensure-chromium.sh`).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { GROUPS, STREAMS } from '../apps/shared/redis-keys.js';
import { type E2eStack, startStack } from './support/e2e-stack.js';
import { sendMails, sendPushes } from './support/e2e-traffic.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe('BI live dashboard (headless chromium)', () => {
  let stack: E2eStack;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No browser at ${CHROMIUM}: run \`bash scripts/ensure-chromium.sh\` (as root) or set CHROMIUM_PATH.`,
      );
    }
    stack = await startStack([
      { name: 'gateway', app: 'gateway' },
      { name: 'email-1', app: 'email', env: { CONSUMER_NAME: 'email-1' } },
      { name: 'bi', app: 'bi' },
    ]);
    profile = mkdtempSync(join(tmpdir(), 'redis-streams-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stack?.stop();
  });

  const text = (testId: string) => page.locator(`[data-testid="${testId}"]`).textContent();

  /** Waits until the element's text is `expected`; fails with what the page shows instead. */
  async function expectText(testId: string, expected: string): Promise<void> {
    try {
      // A string expression: it runs in the page, where `document` exists (this file is type-checked without DOM).
      const selector = JSON.stringify(`[data-testid="${testId}"]`);
      await page.waitForFunction(
        `document.querySelector(${selector})?.textContent === ${JSON.stringify(expected)}`,
        undefined,
        {
          timeout: 15_000,
          polling: 100,
        },
      );
    } catch {
      throw new Error(
        `[data-testid="${testId}"] shows ${JSON.stringify(await text(testId))}, expected ${JSON.stringify(expected)}`,
      );
    }
  }

  it('shows entries live and the streams, groups and consumers as traffic goes through the gateway', async () => {
    await page.goto(`${stack.url('bi')}/dashboard`);
    await page.waitForSelector('body[data-connected="true"]', { timeout: 15_000 });
    await expectText(`live-${STREAMS.email}`, '0');
    await expectText(`length-${STREAMS.email}`, '0');

    const mails = await sendMails(stack, 5, 'dashboard');
    const pushes = await sendPushes(stack, 3, 'dashboard');

    await expectText(`live-${STREAMS.email}`, '5');
    await expectText(`live-${STREAMS.push}`, '3');
    await expectText('feed-total', '8');
    for (const id of [...mails, ...pushes]) await page.waitForSelector(`#feed li[data-id="${id}"]`, { timeout: 5000 });
    expect(await page.locator(`#feed li[data-id="${mails[0]}"]`).textContent()).toContain('dashboard #0');

    await expectText(`length-${STREAMS.email}`, '5');
    await expectText(`length-${STREAMS.push}`, '3');
    await expectText(`read-${STREAMS.email}-${GROUPS.email}`, '5');
    await expectText(`read-${STREAMS.email}-${GROUPS.bi}`, '5');
    await expectText(`pending-${STREAMS.email}-${GROUPS.bi}`, '0');
    await expectText(`lag-${STREAMS.push}-${GROUPS.bi}`, '0');
    await expectText(`dead-${STREAMS.email}`, '0');
    const { consumer } = (await stack.get<{ consumer: string }>('email-1', '/stats')).body;
    expect(await page.locator(`[data-testid="groups-${STREAMS.email}"] tr[data-consumer="${consumer}"]`).count()).toBe(
      1,
    );

    // A second burst moves every figure again.
    await sendMails(stack, 4, 'dashboard-2');
    await expectText(`live-${STREAMS.email}`, '9');
    await expectText(`length-${STREAMS.email}`, '9');
    await expectText(`read-${STREAMS.email}-${GROUPS.email}`, '9');
  });

  /** The ids in the history table, in the order shown, once the page has finished its `load`-th load. */
  async function historyIds(load: number): Promise<string[]> {
    await page.waitForSelector(`body[data-history-loads="${load}"]`, { timeout: 15_000 });
    return page
      .locator('[data-testid="history-rows"] tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id') ?? ''));
  }

  it("shows a time range of a stream's past page by page, and each group's place on a timeline", async () => {
    await page.goto(`${stack.url('bi')}/dashboard`);
    await page.waitForSelector('body[data-connected="true"]', { timeout: 15_000 });
    const mails = await sendMails(stack, 3, 'history', 1);
    const since = new Date(Number(mails[0].split('-')[0])).toISOString();

    await page.selectOption('[data-testid="history-stream"]', STREAMS.email);
    await page.fill('[data-testid="history-since"]', since);
    await page.fill('[data-testid="history-count"]', '10');
    await page.click('[data-testid="history-load"]');
    expect(await historyIds(1)).toEqual(mails);
    expect(await page.locator(`[data-testid="history-rows"] tr[data-id="${mails[1]}"]`).textContent()).toContain(
      '"subject":"history #1"',
    );
    expect(await text('history-summary')).toBe('3 entries, page 1 (last)');

    // Newest first, two at a time: the next page carries on after the last one shown.
    await page.check('[data-testid="history-reverse"]');
    await page.fill('[data-testid="history-count"]', '2');
    await page.click('[data-testid="history-load"]');
    expect(await historyIds(2)).toEqual([mails[2], mails[1]]);
    expect(await text('history-summary')).toBe('2 entries, page 1');
    await page.click('[data-testid="history-next"]');
    expect(await historyIds(3)).toEqual([mails[0]]);
    expect(await page.locator('[data-testid="history-next"]').isDisabled()).toBe(true);

    // The Push stream holds nothing from that time on.
    await page.selectOption('[data-testid="history-stream"]', STREAMS.push);
    await page.click('[data-testid="history-load"]');
    expect(await historyIds(4)).toEqual([]);

    // Caught-up groups stand at the newest entry of the timeline, with no lag.
    for (const group of [GROUPS.email, GROUPS.bi]) {
      const marker = JSON.stringify(`[data-testid="timeline-${STREAMS.email}-${group}"]`);
      const label = JSON.stringify(`[data-testid="timeline-label-${STREAMS.email}-${group}"]`);
      await page.waitForFunction(
        `document.querySelector(${marker})?.dataset.position === '1.000' && ` +
          `document.querySelector(${label})?.textContent.endsWith('lag 0')`,
        undefined,
        { timeout: 15_000, polling: 100 },
      );
    }
  });
});
