import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Balancer } from '../support/balancer';
import { removeTopology, startClusterNode, suitePrefix } from '../support/cluster';
import { freePort, type NodeProcess } from '../support/node-process';

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
/**
 * The production resume window: socket.io-client waits 0.5–1.5 s before its
 * first reconnect, longer than the cluster suites' 1 s grace, and a page that
 * moves must resume, not start over.
 */
const SESSION_GRACE_MS = 5_000;

/** What a page's callbacks log holds: each entry's kind and text. */
const logEntries = (page: Page) =>
  page.$$eval('[data-testid="log"] > li', (items) => items.map((li) => ({ kind: li.getAttribute('data-kind'), text: li.textContent ?? '' })));
const notices = (page: Page) => page.textContent('[data-testid="notices"]').then((text) => text ?? '');
const linkState = (page: Page) => page.getAttribute('[data-testid="link"]', 'data-state');

/** The demo page in headless Chromium, one page on each of two real nodes sharing a broker, and one that roams between them. */
describe('demo page in a browser, two nodes', () => {
  const prefix = suitePrefix('browser');
  let nodes: NodeProcess[] = [];
  let browser: Browser;
  let pages: Page[] = [];
  /** A page behind a loopback balancer, which the tests move between the nodes. */
  let roamer: Page;
  let balancer: Balancer;
  /** Every request of any page that failed (4xx/5xx), e.g. a favicon.ico that is not there. */
  const failed: string[] = [];

  const open = async (url: string) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    page.on('request', (request) => {
      if (request.url().endsWith('/favicon.ico')) failed.push(`asked for ${request.url()}`);
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    return page;
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH to a Chromium or Chrome binary.`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    nodes = await Promise.all([1, 2].map((i) => startClusterNode(i, { prefix, env: { SESSION_GRACE_MS: String(SESSION_GRACE_MS) } })));
    balancer = await Balancer.start([nodes[0].port]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    pages = await Promise.all(nodes.map((node) => open(node.url)));
  });
  afterAll(async () => {
    await browser?.close();
    await balancer?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await removeTopology(prefix);
  });

  const shoot = (name: string) => Promise.all(pages.map((page, i) => page.screenshot({ path: join(ARTIFACTS, `${name}-node${i + 1}.png`) })));
  const shootRoamer = (name: string) => roamer.screenshot({ path: join(ARTIFACTS, `${name}-roamer.png`) });

  it('shows on each page the node it is connected to', async () => {
    for (const [i, page] of pages.entries()) {
      expect(await page.textContent('[data-testid="node"]')).toBe(nodes[i].nodeId);
      expect(await linkState(page)).toBe('connected');
      expect(await page.textContent('[data-testid="count-free"]')).toBe('100');
    }
    expect(failed).toEqual([]);
  });

  it('turns a seat selected on node 1 unavailable on node 2, live', async () => {
    const [one, two] = pages;
    await one.click('[data-seat="C7"]');
    await one.waitForSelector('[data-seat="C7"].mine');
    await two.waitForSelector('[data-seat="C7"].taken');
    expect(await two.isDisabled('[data-seat="C7"]')).toBe(true);
    expect(await one.textContent('[data-testid="count-mine"]')).toBe('1');
    expect(await two.textContent('[data-testid="count-taken"]')).toBe('1');
    await shoot('seat-selected');

    await one.click('#book');
    await two.waitForSelector('[data-seat="C7"].booked');
    await one.waitForSelector('[data-seat="C7"].booked');
    expect(await notices(one)).toContain('Booked C7');
    await two.waitForSelector('[data-testid="count-booked"]:text-is("1")');
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
    expect(await one.textContent('[data-testid="me"]')).toBe('alice');
    expect(await one.textContent('[data-testid="count-guests"]')).toBe('2');

    const inventory = Number(await one.textContent('[data-testid="inventory"]'));
    await two.click('#drink');
    await one.waitForSelector(`[data-testid="inventory"]:text-is("${inventory - 1}")`);
    expect(await two.textContent('[data-testid="inventory"]')).toBe(String(inventory - 1));
    expect(await one.textContent('[data-testid="log"]')).toContain('notifyBeerInventoryChanged("bob", ');
    await shoot('party');
  });

  it('Leave returns the page to the join state, and joining again works', async () => {
    const [one, two] = pages;
    await one.click('#leave');
    await one.waitForSelector('[data-testid="join-form"]', { state: 'visible' });
    expect(await one.isHidden('[data-testid="guest-actions"]')).toBe(true);
    expect(await one.isVisible('#drink')).toBe(false);
    expect(await one.textContent('[data-testid="me"]')).toBe('');
    expect(await one.getAttribute('body', 'data-guest')).toBeNull();
    await two.waitForSelector('[data-testid="guests"] li[data-guest="alice"]', { state: 'detached' });
    await one.waitForSelector('[data-testid="guests"] li[data-guest="alice"]', { state: 'detached' });
    expect(await one.textContent('[data-testid="count-guests"]')).toBe('1');
    await shoot('left');

    // A name taken is an error, told in the notices.
    await one.fill('#guest-name', 'bob');
    await one.click('#join');
    await one.waitForSelector('[data-testid="notices"] li.error:has-text("CONFLICT")');
    expect(await one.isVisible('[data-testid="join-form"]')).toBe(true);

    await one.fill('#guest-name', 'alice');
    await one.click('#join');
    await one.waitForSelector('[data-testid="guest-actions"]', { state: 'visible' });
    expect(await one.textContent('[data-testid="me"]')).toBe('alice');
    await two.waitForSelector('[data-testid="guests"] li[data-guest="alice"]');
    // The party's news comes again after rejoining, and the page drinks as alice (not as null).
    const inventory = Number(await one.textContent('[data-testid="inventory"]'));
    await one.click('#drink');
    await two.waitForSelector(`[data-testid="inventory"]:text-is("${inventory - 1}")`);
    await one.waitForSelector(`[data-testid="inventory"]:text-is("${inventory - 1}")`);
    await two.click('#drink');
    await one.waitForSelector(`[data-testid="inventory"]:text-is("${inventory - 2}")`);
    expect(await one.$$('[data-testid="notices"] li.error')).toHaveLength(1); // the CONFLICT, nothing since
    await shoot('rejoined');
  });

  it('keeps the callbacks log to callbacks: errors and notes go to the notices', async () => {
    const [one, two] = pages;
    await one.click('#book'); // no seat selected
    await one.waitForSelector('[data-testid="notices"] li:has-text("Select seats first")');
    for (const page of [one, two]) {
      const entries = await logEntries(page);
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        expect(entry.kind).toBe('callback');
        expect(entry.text).toMatch(/(beer-inventory|seat-booking)\.\w+\(.*\)$/);
      }
      const log = await page.textContent('[data-testid="log"]');
      expect(log).not.toMatch(/Select seats|CONFLICT|Booked [A-J]|INVALID_ARGUMENTS|FORBIDDEN/);
    }
    expect(await notices(one)).toContain('CONFLICT');
    await shoot('notices');
  });

  it('asks every other guest for another round on their page, across nodes, and shows the tally', async () => {
    const [one, two] = pages;
    await one.click('#round');
    const question = '[data-testid="notices"] li.question:has-text("alice asks: another round?")';
    await two.waitForSelector(question);
    await shoot('round-asked');
    await two.click(`${question} button:text-is("Yes")`);
    await two.waitForSelector(question, { state: 'detached' });
    await one.waitForSelector('[data-testid="notices"] li:has-text("Another round? 1 yes, 0 no, 0 no answer (of 1).")');
    expect(await notices(one)).not.toContain('another round?'); // the host is not asked
    await shoot('round-tally');
  });

  it('a page moved to another node shows the new node, resumed, and keeps its guest, seats and callbacks', async () => {
    const [one, two] = pages;
    roamer = await open(balancer.url);
    expect(await roamer.textContent('[data-testid="node"]')).toBe(nodes[0].nodeId);
    await roamer.fill('#guest-name', 'carol');
    await roamer.click('#join');
    await roamer.waitForSelector('[data-testid="guest-actions"]', { state: 'visible' });
    await roamer.click('[data-seat="D4"]');
    await roamer.waitForSelector('[data-seat="D4"].mine');
    await two.waitForSelector('[data-seat="D4"].taken');
    const session = await roamer.getAttribute('body', 'data-session');
    const reloads = await roamer.getAttribute('body', 'data-reloads');

    balancer.route([nodes[1].port]);
    balancer.dropAll();
    await roamer.waitForSelector(`body[data-node="${nodes[1].nodeId}"]`, { timeout: 15_000 });
    expect(await roamer.textContent('[data-testid="node"]')).toBe(nodes[1].nodeId);
    expect(await linkState(roamer)).toBe('moved');
    expect(await roamer.textContent('[data-testid="link"]')).toContain('resumed');
    expect(await roamer.textContent('[data-testid="link-detail"]')).toContain(nodes[0].nodeId);
    expect(await roamer.isHidden('[data-testid="gap"]')).toBe(true);
    expect(await roamer.getAttribute('body', 'data-session')).toBe(session);
    expect(await roamer.getAttribute('body', 'data-reloads')).toBe(reloads); // resumed, nothing missed: nothing to reload
    expect(await roamer.textContent('[data-testid="me"]')).toBe('carol');
    expect(await roamer.$('[data-seat="D4"].mine')).not.toBeNull();

    // Callbacks keep coming, from either node, and the page acts as carol on its new node.
    const inventory = Number(await roamer.textContent('[data-testid="inventory"]'));
    await one.click('#beer-run');
    await roamer.waitForSelector(`[data-testid="inventory"]:text-is("${inventory + 6}")`);
    await two.click('[data-seat="E5"]');
    await roamer.waitForSelector('[data-seat="E5"].taken');
    await roamer.click('#drink');
    await one.waitForSelector(`[data-testid="inventory"]:text-is("${inventory + 5}")`);
    await roamer.click('#book');
    await one.waitForSelector('[data-seat="D4"].booked');
    const log = await roamer.textContent('[data-testid="log"]');
    expect(log).toContain('notifyBeerInventoryChanged("alice", ');
    expect(log).toContain('seatSelected("premiere", "E5")');
    expect(await roamer.$$('[data-testid="notices"] li.error')).toHaveLength(0);
    await shootRoamer('moved');
  });

  it('a page away longer than the resume window shows reconnecting, then a new session: no identity, views reloaded', async () => {
    const [one] = pages;
    await roamer.click('[data-seat="F2"]');
    await roamer.waitForSelector('[data-seat="F2"].mine');
    const session = await roamer.getAttribute('body', 'data-session');
    const reloads = await roamer.getAttribute('body', 'data-reloads');

    balancer.route([await freePort()]); // nothing listens there
    balancer.dropAll();
    await roamer.waitForSelector('[data-testid="link"][data-state="reconnecting"]');
    await shootRoamer('reconnecting');
    // The session ends on its node: carol leaves the party, her held seat goes back.
    await one.waitForSelector('[data-testid="guests"] li[data-guest="carol"]', { state: 'detached', timeout: 15_000 });
    await one.waitForSelector('[data-seat="F2"].free');

    balancer.route([nodes[1].port]);
    await roamer.waitForSelector('[data-testid="link"][data-state="fresh"]', { timeout: 15_000 });
    await roamer.waitForSelector(`body:not([data-session="${session}"]):not([data-reloads="${reloads}"])`);
    expect(await roamer.isVisible('[data-testid="join-form"]')).toBe(true);
    expect(await roamer.isHidden('[data-testid="guest-actions"]')).toBe(true);
    expect(await roamer.textContent('[data-testid="me"]')).toBe('');
    // Reloaded whole: the guests as they are now (not empty, not carol), F2 free, D4 booked.
    await roamer.waitForSelector('[data-testid="guests"] li[data-guest="alice"]');
    expect(await roamer.$('[data-testid="guests"] li[data-guest="carol"]')).toBeNull();
    expect(await roamer.$('[data-seat="F2"].free')).not.toBeNull();
    expect(await roamer.$('[data-seat="D4"].booked')).not.toBeNull();
    expect(await roamer.textContent('[data-testid="count-mine"]')).toBe('0');
    expect(await notices(roamer)).toContain('carol left the party');
    await shootRoamer('new-session');

    await roamer.fill('#guest-name', 'carol');
    await roamer.click('#join');
    await one.waitForSelector('[data-testid="guests"] li[data-guest="carol"]');
    expect(await roamer.textContent('[data-testid="me"]')).toBe('carol');
  });

  it('a page whose node dies resumes on the other and shows "gap: reloaded"', async () => {
    const [one] = pages;
    expect(await roamer.textContent('[data-testid="node"]')).toBe(nodes[1].nodeId);
    const reloads = await roamer.getAttribute('body', 'data-reloads');
    balancer.route([nodes[0].port]);
    await nodes[1].kill();
    await roamer.waitForSelector(`body[data-node="${nodes[0].nodeId}"]`, { timeout: 20_000 });
    await roamer.waitForSelector('[data-testid="gap"]', { state: 'visible' });
    await roamer.waitForSelector(`body:not([data-reloads="${reloads}"])`);
    expect(await linkState(roamer)).toBe('moved');
    expect(await roamer.textContent('[data-testid="gap"]')).toContain('reloaded');
    expect(await roamer.textContent('[data-testid="me"]')).toBe('carol');

    const inventory = Number(await roamer.textContent('[data-testid="inventory"]'));
    await one.click('#drink');
    await roamer.waitForSelector(`[data-testid="inventory"]:text-is("${inventory - 1}")`);
    await shootRoamer('gap-reloaded');
    expect(failed).toEqual([]);
  });
});
