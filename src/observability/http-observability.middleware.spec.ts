import { redactUrl } from './http-observability.middleware.js';

describe(redactUrl.name, () => {
  it.each([
    ['/ws/general?token=abc.def.ghi', '/ws/general?token=[REDACTED]'],
    ['/x?a=1&TOKEN=abc&b=2', '/x?a=1&TOKEN=[REDACTED]&b=2'],
    ['/x?access_token=abc', '/x?access_token=[REDACTED]'],
    ['/x?%74oken=abc', '/x?%74oken=[REDACTED]'],
    ['/x?token=a&token=b', '/x?token=[REDACTED]&token=[REDACTED]'],
    ['/x?token', '/x?token=[REDACTED]'],
    ['/x?%E0%A4%A=1&token=abc', '/x?%E0%A4%A=1&token=[REDACTED]'],
    ['/x?tokens=kept&mytoken=kept', '/x?tokens=kept&mytoken=kept'],
    ['/auth/me', '/auth/me'],
  ])('shows %s as %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('cuts long URLs', () => {
    const shown = redactUrl(`/x?q=${'a'.repeat(2000)}`);
    expect(shown).toHaveLength(515);
    expect(shown.endsWith('...')).toBe(true);
  });
});
