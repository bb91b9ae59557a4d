import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { removeTopology, startClusterNode, suitePrefix } from '../support/cluster';
import type { NodeProcess } from '../support/node-process';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of every scenario, kept for people to look at (CI keeps the folder). */
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'browser');
/** Without these Chromium keeps trying to reach outside hosts; the test must stay on loopback. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The demo page in headless Chromium, one page on each of two real nodes sharing a broker. */
describe('demo page in a browser, two nodes', () => {
  const prefix = suitePrefix('browser');
  let nodes: NodeProcess[] = [];
  let browser: Browser;
  let pages: Page[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH to a Chromium or Chrome binary.`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    nodes = await Promise.all([1, 2].map((i) => startClusterNode(i, { prefix })));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    pages = await Promise.all(
      nodes.map(async (node) => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
        await page.goto(node.url);
        await page.waitForSelector('body[data-ready="true"]');
        return page;
      }),
    );
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await removeTopology(prefix);
  });

  const shoot = (name: string) => Promise.all(pages.map((page, i) => page.screenshot({ path: join(ARTIFACTS, `${name}-node${i + 1}.png`) })));

  it('shows on each page the node it is connected to', async () => {
    for (const [i, page] of pages.entries()) {
      expect(await page.textContent('[data-testid="node"]')).toBe(nodes[i].nodeId);
    }
  });

  it('turns a seat selected on node 1 unavailable on node 2, live', async () => {
    const [one, two] = pages;
    await one.click('[data-seat="C7"]');
    await one.waitForSelector('[data-seat="C7"].mine');
    await two.waitForSelector('[data-seat="C7"].taken');
    expect(await two.isDisabled('[data-seat="C7"]')).toBe(true);
    await shoot('seat-selected');

    await one.click('#book');
    await two.waitForSelector('[data-seat="C7"].booked');
    await one.waitForSelector('[data-seat="C7"].booked');
    await shoot('seat-booked');
  });

  it('shows a guest who joins on one page on the other, and the shared inventory', async () => {
    const [one, two] = pages;
    await one.fill('#guest-name', 'alice');
    await one.click('#join');
    await two.waitForSelector('[data-testid="guests"] li[data-guest="alice"]');
    await two.fill('#guest-name', 'bob');
    await two.click('#join');
    await one.waitForSelector('[data-testid="guests"] li[data-guest="bob"]');

    const inventory = Number(await one.textContent('[data-testid="inventory"]'));
    await two.click('#drink');
    await one.waitForSelector(`[data-testid="inventory"]:text-is("${inventory - 1}")`);
    expect(await two.textContent('[data-testid="inventory"]')).toBe(String(inventory - 1));
    expect(await one.textContent('[data-testid="log"]')).toContain('notifyBeerInventoryChanged(bob');
    await shoot('party');
  });
});
