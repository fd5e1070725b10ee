import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { WsCloseCode, WsCloseReason, WsErrorCode } from '@app/ws-middleware';
import { ChatGateway } from '../src/chat/chat.gateway.js';

/** `MESSAGE_METADATA` of @nestjs/websockets: where `@SubscribeMessage(name)` stores the name. */
const MESSAGE_METADATA = 'message';
/** Events every gateway served by `WsMiddlewareAdapter` answers without a handler. */
const LIBRARY_BUILT_IN_EVENTS = ['ping', 'refresh'];
/** Close reasons the chat app adds to the library's (`ChatConnectionMiddleware`). */
const APP_CLOSE_REASONS = ['Invalid room'];

const DOCUMENT_PATH = fileURLToPath(
  new URL('../docs/asyncapi.yaml', import.meta.url),
);

type Node = Record<string, unknown>;

interface Operation {
  action: 'send' | 'receive';
  channel: { $ref: string };
  messages: { $ref: string }[];
  reply?: { channel?: { $ref: string }; messages: { $ref: string }[] };
}

interface CloseCode {
  code: number;
  reason: string;
}

const document = parse(readFileSync(DOCUMENT_PATH, 'utf8')) as Node & {
  channels: Record<string, Node & { messages: Record<string, Node> }>;
  operations: Record<string, Operation>;
  components: Node & { schemas: Record<string, Node> };
};

/** Resolves a local `$ref` ("#/a/b") in the document, or `undefined`. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) {
    return undefined;
  }
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (
      typeof node !== 'object' ||
      node === null ||
      !Object.hasOwn(node, key)
    ) {
      return undefined;
    }
    node = (node as Node)[key];
  }
  return node;
}

/** A `$ref` followed until it reaches a node that is not a reference. */
function deref(node: unknown): Node {
  let current = node;
  for (let hops = 0; hops < 10; hops++) {
    const ref = (current as { $ref?: unknown } | undefined)?.$ref;
    if (typeof ref !== 'string') {
      return current as Node;
    }
    current = resolve(ref);
  }
  throw new Error('reference loop');
}

/** Every `$ref` string anywhere in `node`, with the path where it sits. */
function refsIn(node: unknown, path = '#'): [string, string][] {
  if (typeof node !== 'object' || node === null) {
    return [];
  }
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string'
      ? [[path, value] as [string, string]]
      : refsIn(value, `${path}/${key}`),
  );
}

/** The `event` a message's envelope carries (`payload.properties.event.const`). */
function eventOf(message: unknown): unknown {
  const payload = deref(deref(message).payload);
  const properties = deref(payload.properties);
  return deref(properties.event).const;
}

/** The names given to `@SubscribeMessage()` on the gateway's methods. */
function subscribedEvents(gateway: { prototype: object }): string[] {
  const prototype = gateway.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => prototype[name])
    .filter((method) => typeof method === 'function')
    .map((method) => Reflect.getMetadata(MESSAGE_METADATA, method) as unknown)
    .filter((event): event is string => typeof event === 'string');
}

describe('AsyncAPI document (docs/asyncapi.yaml)', () => {
  it('is a valid AsyncAPI 3.0 document', () => {
    expect(document.asyncapi).toBe('3.0.0');
    // The bundled schema embeds the draft-07 meta-schema, so Ajv must not add its own.
    const ajv = new Ajv({
      strict: false,
      allErrors: true,
      meta: false,
      validateSchema: false,
      validateFormats: false,
    });
    const validate = ajv.compile(specs.schemas['3.0.0']);
    const valid = validate(document);
    expect(valid ? [] : validate.errors).toEqual([]);
  });

  it('has no dangling $ref', () => {
    const dangling = refsIn(document)
      .filter(([, ref]) => resolve(ref) === undefined)
      .map(([at, ref]) => `${at} -> ${ref}`);
    expect(dangling).toEqual([]);
  });

  it('references, in each operation, only messages of its own channel', () => {
    const misplaced: string[] = [];
    for (const [name, operation] of Object.entries(document.operations)) {
      const check = (channelRef: string, messages: { $ref: string }[]) => {
        for (const { $ref } of messages) {
          if (!$ref.startsWith(`${channelRef}/messages/`)) {
            misplaced.push(`${name}: ${$ref} is not in ${channelRef}`);
          }
        }
      };
      check(operation.channel.$ref, operation.messages);
      if (operation.reply) {
        check(
          operation.reply.channel?.$ref ?? operation.channel.$ref,
          operation.reply.messages,
        );
      }
    }
    expect(misplaced).toEqual([]);
  });

  it('describes every ChatGateway event and the built-in ping and refresh as a request with a reply', () => {
    const events = [
      ...subscribedEvents(ChatGateway),
      ...LIBRARY_BUILT_IN_EVENTS,
    ];
    expect(events).toEqual(expect.arrayContaining(['join', 'message']));
    for (const event of events) {
      const operation = document.operations[event];
      expect({ event, defined: operation !== undefined }).toEqual({
        event,
        defined: true,
      });
      expect({ event, action: operation.action }).toEqual({
        event,
        action: 'receive',
      });
      expect({
        event,
        requests: operation.messages.map(({ $ref }) => eventOf({ $ref })),
      }).toEqual({ event, requests: [event] });
      const replies = (operation.reply?.messages ?? []).map(({ $ref }) =>
        eventOf({ $ref }),
      );
      expect({ event, replies }).toEqual({
        event,
        replies: [event, 'exception'],
      });
    }
  });

  it('documents no request the server does not handle', () => {
    const handled = new Set([
      ...subscribedEvents(ChatGateway),
      ...LIBRARY_BUILT_IN_EVENTS,
    ]);
    const requests = Object.entries(document.operations)
      .filter(([, operation]) => operation.action === 'receive')
      .map(([name]) => name);
    expect(requests.filter((name) => !handled.has(name))).toEqual([]);
  });

  it('lists every WsErrorCode, and no other code', () => {
    const errorCode = document.components.schemas.ErrorCode as {
      oneOf: { const: string }[];
    };
    const documented = errorCode.oneOf.map((option) => option.const).sort();
    expect(documented).toEqual(Object.values(WsErrorCode).sort());
  });

  it('lists every close code and close reason the library and the chat send', () => {
    const closeCodes = document.channels.chat['x-close-codes'] as CloseCode[];
    const codes = new Set(closeCodes.map(({ code }) => code));
    const reasons = new Set(closeCodes.map(({ reason }) => reason));
    const missingCodes = Object.values(WsCloseCode).filter(
      (code) => !codes.has(code),
    );
    const missingReasons = [
      ...Object.values(WsCloseReason),
      ...APP_CLOSE_REASONS,
    ].filter((reason) => !reasons.has(reason));
    expect({ missingCodes, missingReasons }).toEqual({
      missingCodes: [],
      missingReasons: [],
    });
  });

  it('gives /ws/{room} every message of /ws', () => {
    const chat = Object.keys(document.channels.chat.messages);
    const room = Object.keys(document.channels.room.messages);
    expect(chat.filter((name) => !room.includes(name))).toEqual([]);
  });
});
