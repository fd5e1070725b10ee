import type { IncomingMessage } from 'node:http';
import { extractToken } from './extract-token.util.js';

interface Carriers {
  authorization?: string;
  protocols?: string;
  url?: string;
}

/** An upgrade request carrying the given token carriers. */
function upgradeRequest({
  authorization,
  protocols,
  url = '/ws',
}: Carriers): IncomingMessage {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) {
    headers.authorization = authorization;
  }
  if (protocols !== undefined) {
    headers['sec-websocket-protocol'] = protocols;
  }
  return { headers, url } as unknown as IncomingMessage;
}

describe(extractToken.name, () => {
  describe('precedence', () => {
    it('takes the Authorization header over the subprotocol and the query', () => {
      const request = upgradeRequest({
        authorization: 'Bearer from-header',
        protocols: 'bearer, from-protocol',
        url: '/ws?token=from-query',
      });

      expect(extractToken(request)).toBe('from-header');
    });

    it('takes the subprotocol over the query', () => {
      const request = upgradeRequest({
        protocols: 'bearer, from-protocol',
        url: '/ws?token=from-query',
      });

      expect(extractToken(request)).toBe('from-protocol');
    });

    it('takes the query when it is the only carrier', () => {
      expect(
        extractToken(upgradeRequest({ url: '/ws?room=1&token=from-query' })),
      ).toBe('from-query');
    });
  });

  describe('Authorization header', () => {
    it.each([
      ['Bearer abc.def.ghi', 'abc.def.ghi'],
      ['bearer abc.def.ghi', 'abc.def.ghi'],
      ['BEARER abc.def.ghi', 'abc.def.ghi'],
      ['Bearer   abc.def.ghi  ', 'abc.def.ghi'],
    ])('reads %j', (authorization, token) => {
      expect(extractToken(upgradeRequest({ authorization }))).toBe(token);
    });

    it.each([
      [''],
      ['Bearer'],
      ['Bearer '],
      ['Basic dXNlcjpwYXNz'],
      ['Bearer a b'],
      ['abc.def.ghi'],
    ])(
      "returns '' for the malformed %j and never falls back to a later carrier",
      (authorization) => {
        const request = upgradeRequest({
          authorization,
          protocols: 'bearer, from-protocol',
          url: '/ws?token=from-query',
        });

        expect(extractToken(request)).toBe('');
      },
    );
  });

  describe('subprotocol', () => {
    it.each([
      ['bearer, abc.def.ghi', 'abc.def.ghi'],
      ['bearer,abc.def.ghi', 'abc.def.ghi'],
      ['Bearer, abc.def.ghi', 'abc.def.ghi'],
      ['chat.v1, bearer, abc.def.ghi', 'abc.def.ghi'],
    ])('reads %j', (protocols, token) => {
      expect(extractToken(upgradeRequest({ protocols }))).toBe(token);
    });

    it.each([['bearer'], ['chat.v1, bearer'], ['bearer, ']])(
      "returns '' for the malformed %j and never falls back to the query",
      (protocols) => {
        expect(
          extractToken(
            upgradeRequest({ protocols, url: '/ws?token=from-query' }),
          ),
        ).toBe('');
      },
    );

    it('is no carrier when the list has no bearer entry', () => {
      const request = upgradeRequest({
        protocols: 'chat.v1, json',
        url: '/ws?token=from-query',
      });

      expect(extractToken(request)).toBe('from-query');
    });
  });

  describe('query', () => {
    it('decodes the value', () => {
      expect(extractToken(upgradeRequest({ url: '/ws?token=a%2Eb%2Ec' }))).toBe(
        'a.b.c',
      );
    });

    it("returns '' for an empty token", () => {
      expect(extractToken(upgradeRequest({ url: '/ws?token=' }))).toBe('');
    });

    it('takes the first of repeated tokens', () => {
      expect(
        extractToken(upgradeRequest({ url: '/ws?token=first&token=second' })),
      ).toBe('first');
    });
  });

  describe('no carrier', () => {
    it.each([['/ws'], ['/ws?'], ['/ws?room=1'], ['/ws?tokens=abc']])(
      'returns undefined for %j',
      (url) => {
        expect(extractToken(upgradeRequest({ url }))).toBeUndefined();
      },
    );

    it('returns undefined when the request has no url', () => {
      expect(
        extractToken({ headers: {} } as unknown as IncomingMessage),
      ).toBeUndefined();
    });
  });
});
