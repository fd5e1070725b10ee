import { reconnectDecision } from './close-policy.js';

describe(reconnectDecision.name, () => {
  it.each([
    'Missing authentication token',
    'Invalid authentication token',
    'Token expired',
    'Invalid user',
  ])('does not reconnect after the auth refusal 1008 "%s"', (reason) => {
    expect(reconnectDecision(1008, reason)).toEqual({
      reconnect: false,
      reason: 'auth',
    });
  });

  it.each([
    'Too many connections',
    'Rate limit exceeded',
    'Invalid room',
    'Something new',
  ])('does not reconnect after 1008 "%s"', (reason) => {
    expect(reconnectDecision(1008, reason)).toEqual({
      reconnect: false,
      reason: 'policy',
    });
  });

  it('reconnects after 1008 "Slow consumer"', () => {
    expect(reconnectDecision(1008, 'Slow consumer').reconnect).toBe(true);
  });

  it.each([1000, 1003, 1007, 1009])('does not reconnect after %i', (code) => {
    expect(reconnectDecision(code, '').reconnect).toBe(false);
  });

  it.each([1001, 1005, 1006, 1011, 1012, 1013, 1014, 4000, 4999, 3000])(
    'reconnects after %i',
    (code) => {
      expect(reconnectDecision(code, 'whatever').reconnect).toBe(true);
    },
  );
});
