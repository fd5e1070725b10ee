import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
} from 'playwright-core';
import { startChatApp, type RunningChatApp } from '../support/chat-app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const WAIT_MS = 15_000;

/** A logged-in page, the console problems it reported, and every URL it opened. */
interface ChatPage {
  page: Page;
  context: BrowserContext;
  problems: string[];
  /** HTTP requests, navigations and WebSocket handshakes, in order. */
  urls: string[];
}

/** A JWT (three base64url parts, the first a JSON header). */
const JWT_PATTERN = /eyJ[\w-]*\.[\w-]+\.[\w-]+/;

/** Waits for `predicate` in the page, failing with a message that says what was awaited. */
async function waitInPage(
  page: Page,
  what: string,
  predicate: (arg: string) => boolean,
  arg = '',
  timeoutMs = WAIT_MS,
): Promise<void> {
  try {
    await page.waitForFunction(predicate, arg, {
      timeout: timeoutMs,
      polling: 50,
    });
  } catch (error) {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
}

/** The texts of the messages shown in the open conversation. */
function shownTexts(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.message .text', (nodes) =>
    nodes.map((node) => node.textContent ?? ''),
  );
}

/** The ids of the messages shown in the open conversation. */
function shownIds(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.message', (nodes) =>
    nodes.map((node) => node.getAttribute('data-id') ?? ''),
  );
}

function waitForText(page: Page, text: string, who: string): Promise<void> {
  return waitInPage(
    page,
    `"${text}" in ${who}'s open conversation`,
    (expected) =>
      [...document.querySelectorAll('#messages li.message .text')].some(
        (node) => node.textContent === expected,
      ),
    text,
  );
}

function waitConnected(page: Page, who: string): Promise<void> {
  return waitInPage(
    page,
    `${who}'s page to be connected`,
    () =>
      document.querySelector('#connection')?.getAttribute('data-state') ===
      'open',
  );
}

describe('Chat page in Chromium (browser e2e)', () => {
  let dir: string;
  let env: Record<string, string>;
  let chat: RunningChatApp;
  let browser: Browser;
  const pages: ChatPage[] = [];

  async function openPage(viewport: {
    width: number;
    height: number;
  }): Promise<ChatPage> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const problems: string[] = [];
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('websocket', (socket) => urls.push(socket.url()));
    page.on('framenavigated', (frame) => urls.push(frame.url()));
    page.on('pageerror', (error) =>
      problems.push(`pageerror: ${error.message}`),
    );
    page.on('response', (response) => {
      if (response.status() >= 400) {
        problems.push(`HTTP ${response.status()} ${response.url()}`);
      }
    });
    page.on('console', (message) => {
      // A refused WebSocket while the server restarts is expected; anything else is a bug.
      if (
        message.type() === 'error' &&
        !/WebSocket connection to .* failed/.test(message.text())
      ) {
        problems.push(`console: ${message.text()}`);
      }
    });
    const opened = { page, context, problems, urls };
    pages.push(opened);
    return opened;
  }

  async function logIn(
    { page }: ChatPage,
    username: string,
    password: string,
  ): Promise<void> {
    await page.goto(`http://127.0.0.1:${chat.port}/`);
    await page.fill('#login-username', username);
    await page.fill('#login-password', password);
    await page.click('#login-button');
    await waitConnected(page, username);
  }

  async function shoot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, name), fullPage: false });
  }

  /** On phone width the sidebar is a drawer: open it first. */
  async function sidebar(page: Page): Promise<void> {
    if (await page.isVisible('#menu-toggle')) {
      const open = await page.evaluate(() =>
        document.body.classList.contains('sidebar-open'),
      );
      if (!open) {
        await page.click('#menu-toggle');
      }
      await waitInPage(
        page,
        'the drawer to slide in',
        () =>
          document.querySelector('#sidebar')?.getBoundingClientRect().left ===
          0,
      );
    }
  }

  async function joinRoom(page: Page, room: string): Promise<void> {
    await sidebar(page);
    await page.fill('#join-input', room);
    await page.press('#join-input', 'Enter');
    await waitInPage(
      page,
      `#${room} to be open`,
      (title) =>
        document.querySelector('#conversation-title')?.textContent === title,
      `#${room}`,
    );
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.fill('#composer-input', text);
    await page.press('#composer-input', 'Enter');
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'chat-browser-'));
    env = { SQLITE_PATH: join(dir, 'chat.sqlite') };
    chat = await startChatApp(env);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });

  afterAll(async () => {
    for (const { context } of pages) {
      await context.close();
    }
    await browser?.close();
    await chat?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page with a self-only CSP, and the JSON to API clients', async () => {
    const page = await chat
      .http()
      .get('/')
      .set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8')
      .expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain(
      "default-src 'self'",
    );
    expect(page.text).not.toMatch(/<script>|<script [^>]*>[^<]/);
    const api = await chat.http().get('/').set('Accept', '*/*').expect(200);
    expect(api.body).toMatchObject({
      message: 'WebSocket Chat API is running',
    });
  });

  it('lets alice and bob chat, see presence, status and typing, talk in private, and recover every message after a server restart', async () => {
    const alice = await openPage({ width: 1100, height: 720 });
    const bob = await openPage({ width: 390, height: 780 }); // a phone
    await logIn(alice, 'alice', 'wonderland');
    await logIn(bob, 'bob', 'builder');

    // Both join a room; alice sees bob arrive, with a status dot.
    await joinRoom(alice.page, 'garden');
    await joinRoom(bob.page, 'garden');
    await waitInPage(
      alice.page,
      "bob's presence in alice's member list",
      () =>
        document.querySelector(
          '#member-list [data-member="bob"] .dot.status-online',
        ) !== null,
    );
    await waitInPage(alice.page, 'the join notice', () =>
      [...document.querySelectorAll('#messages li.notice')].some(
        (node) => node.textContent === 'bob has joined the chat',
      ),
    );

    await send(alice.page, 'Hello Bob!');
    await waitForText(bob.page, 'Hello Bob!', 'bob');
    await send(bob.page, 'Hi Alice, nice garden.');
    await waitForText(alice.page, 'Hi Alice, nice garden.', 'alice');

    // Typing indicator.
    await bob.page.type('#composer-input', 'I am typing', { delay: 20 });
    await waitInPage(
      alice.page,
      'the typing indicator',
      () => document.querySelector('#typing')?.textContent === 'bob is typing…',
    );
    await bob.page.fill('#composer-input', '');

    // Status: bob goes away; alice's dot for bob turns amber.
    await bob.page.selectOption('#status-select', 'away');
    await waitInPage(
      alice.page,
      "bob's away dot",
      () =>
        document.querySelector(
          '#member-list [data-member="bob"] .dot.status-away',
        ) !== null,
    );
    await shoot(alice.page, '01-alice-room.png');

    // A private conversation: alice picks bob in the member list.
    await alice.page.click('#member-list [data-member="bob"] button');
    await waitInPage(
      alice.page,
      'the private conversation with bob',
      () =>
        document.querySelector('#conversation-title')?.textContent === 'bob',
    );
    await send(alice.page, 'psst, a secret');
    await sidebar(bob.page);
    await waitInPage(
      bob.page,
      'an unread private message from alice',
      () =>
        document.querySelector('#dm-list [data-dm="alice"] .badge')
          ?.textContent === '1',
    );
    await shoot(bob.page, '02-bob-phone-sidebar.png');
    await bob.page.click('#dm-list [data-dm="alice"]');
    await waitForText(bob.page, 'psst, a secret', 'bob');
    await send(bob.page, 'secret received');
    await waitForText(alice.page, 'secret received', 'alice');

    // Both look at the room again before the restart.
    await sidebar(bob.page);
    await bob.page.click('#room-list [data-room="garden"]');
    await alice.page.click('#room-list [data-room="garden"]');

    // The server restarts on the same database file and port. While the pages are offline,
    // a third connection posts to the room and writes to alice in private.
    for (const { context } of [alice, bob]) {
      await context.setOffline(true);
    }
    await chat.close();
    chat = await startChatApp(env, chat.port);
    const carolToken = await chat.register('carol');
    const carol = await chat.connect(carolToken);
    await carol.request('join', { room: 'garden' });
    for (const text of ['missed one', 'missed two']) {
      await carol.request('message', { room: 'garden', text });
    }
    await carol.request('private', { to: 'alice', text: 'carol was here' });
    for (const { context } of [alice, bob]) {
      await context.setOffline(false);
    }

    await waitConnected(alice.page, 'alice');
    await waitConnected(bob.page, 'bob');
    for (const [who, { page }] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      await waitForText(page, 'missed two', who);
    }
    await send(alice.page, 'Back after the restart');
    await waitForText(bob.page, 'Back after the restart', 'bob');
    await waitForText(alice.page, 'Back after the restart', 'alice');

    // Every message of the room, in order, exactly once, on both pages: the server's history.
    const history = await carol.request('history', { room: 'garden' });
    const stored = (
      history.data.messages as { id: string; text: string }[]
    ).map((message) => message.id);
    expect(
      (history.data.messages as { text: string }[]).map(
        (message) => message.text,
      ),
    ).toEqual([
      'Hello Bob!',
      'Hi Alice, nice garden.',
      'missed one',
      'missed two',
      'Back after the restart',
    ]);
    for (const { page } of [alice, bob]) {
      expect(await shownIds(page)).toEqual(stored);
    }
    expect(await shownTexts(bob.page)).toEqual([
      'Hello Bob!',
      'Hi Alice, nice garden.',
      'missed one',
      'missed two',
      'Back after the restart',
    ]);

    // The private message sent while alice was away reached her, flagged unread.
    await waitInPage(
      alice.page,
      "carol's private message as unread",
      () =>
        document.querySelector('#dm-list [data-dm="carol"] .badge')
          ?.textContent === '1',
    );
    await shoot(alice.page, '03-alice-after-restart.png');
    await shoot(bob.page, '04-bob-after-restart.png');
    await alice.page.click('#dm-list [data-dm="carol"]');
    await waitForText(alice.page, 'carol was here', 'alice');
    // bob's status survived the reconnect.
    expect(await bob.page.inputValue('#status-select')).toBe('away');

    // The token never travels in a URL (the client sends it as the bearer subprotocol), and
    // lives only in this tab's sessionStorage: no cookie, nothing in localStorage.
    for (const { page, urls } of [alice, bob]) {
      const token = await page.evaluate(
        () =>
          (
            JSON.parse(sessionStorage.getItem('chat.session') ?? '{}') as {
              token?: unknown;
            }
          ).token,
      );
      expect(token).toMatch(JWT_PATTERN);
      expect(urls.filter((url) => url.startsWith('ws://'))).not.toEqual([]);
      expect(
        urls.filter(
          (url) =>
            JWT_PATTERN.test(url) ||
            /[?&]token=/.test(url) ||
            url.includes(String(token)),
        ),
      ).toEqual([]);
      expect(
        await page.evaluate(() => [document.cookie, localStorage.length]),
      ).toEqual(['', 0]);
    }

    for (const { problems } of [alice, bob]) {
      expect(problems).toEqual([]);
    }
  });

  it("registers a new user, loads a room's history on join, and leaves the room", async () => {
    const erin = await chat.connect(await chat.register('erin'), '/ws/orchard');
    await erin.next('join');
    const posted: string[] = [];
    for (const text of ['apples first', 'then pears']) {
      posted.push(
        String(
          (await erin.request('message', { room: 'orchard', text })).data.id,
        ),
      );
    }

    const dana = await openPage({ width: 1000, height: 700 });
    await dana.page.goto(`http://127.0.0.1:${chat.port}/`);
    await dana.page.fill('#login-username', 'dana');
    await dana.page.fill('#login-password', 'dana-password');
    await dana.page.click('#register-button');
    await waitConnected(dana.page, 'dana');
    await joinRoom(dana.page, 'orchard');
    await waitForText(dana.page, 'then pears', 'dana');
    expect(await shownTexts(dana.page)).toEqual(['apples first', 'then pears']);
    expect(await shownIds(dana.page)).toEqual(posted);
    await erin.waitFor(
      (f) => f.event === 'presence' && f.data.user === 'dana',
      "dana's join",
    );
    await shoot(dana.page, '06-dana-registered-history.png');

    await dana.page.click('#leave-button');
    // Still listed (erin is in it), no longer joined, with one member; dana is back in #general.
    await waitInPage(
      dana.page,
      '#orchard to be listed as not joined, with 1 member',
      () => {
        const item = document.querySelector('#room-list [data-room="orchard"]');
        return (
          item !== null &&
          !item.closest('li')?.classList.contains('joined') &&
          item.querySelector('.count')?.textContent === '1'
        );
      },
    );
    expect(await dana.page.textContent('#conversation-title')).toBe('#general');
    expect(
      (
        await erin.waitFor(
          (f) => f.event === 'presence' && f.data.action === 'leave',
          "dana's leave",
        )
      ).data,
    ).toMatchObject({ room: 'orchard', user: 'dana' });
    expect(dana.problems).toEqual([]);
  });

  it('tells the user when they are rate limited, and signs them out when the token is refused', async () => {
    const eve = await openPage({ width: 1000, height: 640 });
    await chat.close();
    chat = await startChatApp({ ...env, WS_RATE_LIMIT: '3' }, chat.port);
    await logIn(eve, 'alice', 'wonderland');
    await waitInPage(
      eve.page,
      '#general to be open',
      () =>
        document.querySelector('#conversation-title')?.textContent ===
        '#general',
    );
    for (let i = 1; i <= 4; i += 1) {
      await send(eve.page, `quick ${i}`);
      if (i < 4) {
        await waitForText(eve.page, `quick ${i}`, 'alice');
      }
    }
    await waitInPage(eve.page, 'the rate limit banner', () =>
      /sending messages too fast\. You can send again in \d+ s/.test(
        document.querySelector('#banner-text')?.textContent ?? '',
      ),
    );
    expect(await eve.page.isDisabled('#send-button')).toBe(true);
    expect(await eve.page.inputValue('#composer-input')).toBe('quick 4');
    await shoot(eve.page, '05-rate-limited.png');

    // A token the server refuses (here: forged) ends the session instead of retrying forever.
    await eve.page.evaluate(() => {
      const session = JSON.parse(
        sessionStorage.getItem('chat.session') ?? '{}',
      );
      sessionStorage.setItem(
        'chat.session',
        JSON.stringify({ ...session, token: 'forged.token.value' }),
      );
    });
    await eve.page.reload();
    await waitInPage(
      eve.page,
      'the login form with the reason',
      () =>
        document.querySelector('#login-error')?.textContent ===
        'Your session ended (Invalid authentication token). Please log in again.',
    );
    expect(eve.problems).toEqual([]);
  });
});
