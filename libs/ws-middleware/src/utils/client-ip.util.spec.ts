import type { IncomingMessage } from 'node:http';
import { clientIp } from './client-ip.util.js';

const PEER = '10.0.0.1';

/** A request from `remoteAddress` with the given `X-Forwarded-For` header. */
function requestFrom(
  remoteAddress: string | undefined,
  forwardedFor?: string | string[],
): IncomingMessage {
  const headers =
    forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe(clientIp.name, () => {
  describe('peer address', () => {
    it('is the socket peer address', () => {
      expect(clientIp(requestFrom('203.0.113.7'), false)).toBe('203.0.113.7');
    });

    it('strips the IPv4-mapped IPv6 prefix', () => {
      expect(clientIp(requestFrom('::ffff:203.0.113.7'), false)).toBe(
        '203.0.113.7',
      );
    });

    it.each([['::1'], ['2001:db8::1']])(
      'keeps the IPv6 address %s',
      (address) => {
        expect(clientIp(requestFrom(address), false)).toBe(address);
      },
    );

    it("is 'unknown' when the socket has no peer address", () => {
      expect(clientIp(requestFrom(undefined), false)).toBe('unknown');
    });
  });

  describe.each([false, 0])('trustProxy %p', (trustProxy) => {
    it('ignores X-Forwarded-For', () => {
      expect(
        clientIp(requestFrom(PEER, '198.51.100.1, 198.51.100.2'), trustProxy),
      ).toBe(PEER);
    });
  });

  describe('trustProxy true', () => {
    it('is the left-most X-Forwarded-For address', () => {
      const request = requestFrom(
        PEER,
        '198.51.100.1, 198.51.100.2, 198.51.100.3',
      );

      expect(clientIp(request, true)).toBe('198.51.100.1');
    });

    it('strips the IPv4-mapped prefix of a forwarded address', () => {
      expect(clientIp(requestFrom(PEER, '::ffff:198.51.100.1'), true)).toBe(
        '198.51.100.1',
      );
    });

    it.each([[undefined], [''], [' , ,']])(
      'falls back to the normalized peer when X-Forwarded-For is %j',
      (forwardedFor) => {
        expect(
          clientIp(requestFrom(`::ffff:${PEER}`, forwardedFor), true),
        ).toBe(PEER);
      },
    );

    it('reads a header given as several values', () => {
      const request = requestFrom(PEER, ['198.51.100.1', '198.51.100.2']);

      expect(clientIp(request, true)).toBe('198.51.100.1');
    });
  });

  describe('trustProxy as a number of hops, like Express', () => {
    const forwardedFor = '198.51.100.1, 198.51.100.2 ,198.51.100.3';

    it.each([
      [1, '198.51.100.3'],
      [2, '198.51.100.2'],
      [3, '198.51.100.1'],
      [4, '198.51.100.1'],
      [100, '198.51.100.1'],
    ])('%i hop(s) trusted gives %s', (hops, expected) => {
      expect(clientIp(requestFrom(PEER, forwardedFor), hops)).toBe(expected);
    });

    it('falls back to the peer when X-Forwarded-For is absent', () => {
      expect(clientIp(requestFrom(PEER), 1)).toBe(PEER);
    });

    it('counts only non-empty entries', () => {
      expect(
        clientIp(requestFrom(PEER, '198.51.100.1, , 198.51.100.2,'), 1),
      ).toBe('198.51.100.2');
    });
  });
});
