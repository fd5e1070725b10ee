import { acceptsHtml } from './web-assets.js';

describe(acceptsHtml.name, () => {
  it.each([
    ['text/html,application/xhtml+xml,*/*;q=0.8', true],
    ['text/html', true],
    ['TEXT/HTML; charset=utf-8', true],
    ['application/json, text/html;q=0.5', true],
    ['*/*', false],
    ['text/*', false],
    ['application/json', false],
    ['text/html;q=0', false],
    ['text/htmlx', false],
    ['', false],
    [undefined, false],
  ])('%s -> %s', (accept, expected) => {
    expect(acceptsHtml(accept)).toBe(expected);
  });
});
