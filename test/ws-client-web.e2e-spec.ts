import { startChatApp, type RunningChatApp } from './support/chat-app.js';

const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('Chat page over HTTP (e2e)', () => {
  let chat: RunningChatApp;

  beforeAll(async () => {
    chat = await startChatApp();
  });

  afterAll(async () => {
    await chat.close();
  });

  it('serves the page to browsers, with a self-only CSP and no inline script', async () => {
    const response = await chat
      .http()
      .get('/')
      .set('Accept', BROWSER_ACCEPT)
      .expect(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers.vary).toMatch(/Accept/);
    const csp = response.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.text).toContain(
      '<script defer src="/web/app.js"></script>',
    );
    // Every <script> has a src: nothing inline for the CSP to allow.
    expect(response.text.match(/<script\b[^>]*>/g)).toEqual([
      '<script defer src="/web/app.js">',
    ]);
    expect(response.text).not.toMatch(/token=/);
    expect(response.headers['x-process-time']).toBeDefined();
  });

  it.each([['*/*'], ['application/json'], ['text/html;q=0, */*'], ['']])(
    'keeps the JSON of PROTOCOL.md for Accept "%s"',
    async (accept) => {
      const response = await chat
        .http()
        .get('/')
        .set('Accept', accept)
        .expect(200);
      expect(response.body).toEqual({
        message: 'WebSocket Chat API is running',
        instructions: expect.stringContaining('/ws/{room}?token='),
      });
      expect(response.headers.vary).toMatch(/Accept/);
    },
  );

  it('serves the script (built from src/web) and the style as separate files', async () => {
    const script = await chat.http().get('/web/app.js').expect(200);
    expect(script.headers['content-type']).toBe(
      'text/javascript; charset=utf-8',
    );
    expect(script.text).toContain('ChatClient');
    expect(script.text.length).toBeGreaterThan(10_000);
    const style = await chat.http().get('/web/app.css').expect(200);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    await chat.http().get('/web/favicon.svg').expect(200);
  }, 30_000);

  it.each([
    '/web/nope.js',
    '/web/index.html',
    '/web/constructor',
    '/web/..%2Fapp.module.ts',
  ])('answers 404 for %s', async (path) => {
    await chat.http().get(path).expect(404);
  });
});
