import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startChatApp, type RunningChatApp } from './support/chat-app.js';
import { signToken } from './support/tokens.js';
import { WsTestClient, type Frame } from './support/ws-test-client.js';

/**
 * The AsyncAPI document against the running server: every frame the real AppModule sends in a
 * session that uses every request (and every error the document lists) must match the payload
 * schema of its message and carry no field the schema does not describe; every message of the
 * document must be seen at least once; every request this spec sends matches its own schema.
 * test/asyncapi.spec.ts checks the names; this spec checks the shapes.
 */
const DOCUMENT_PATH = fileURLToPath(
  new URL('../docs/asyncapi.yaml', import.meta.url),
);
const DOCUMENT_ID = 'asyncapi.yaml';

type Node = Record<string, unknown>;

interface Operation {
  action: 'send' | 'receive';
  messages: { $ref: string }[];
  reply?: { messages: { $ref: string }[] };
}

const document = parse(readFileSync(DOCUMENT_PATH, 'utf8')) as Node & {
  operations: Record<string, Operation>;
  components: { messages: Record<string, Node> };
};

const ajv = new Ajv({
  strict: false,
  allErrors: true,
  formats: {
    'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
  },
});
ajv.addSchema(document, DOCUMENT_ID);

/** `#/channels/chat/messages/x` -> the component message name `x` points to. */
function messageName(ref: string): string {
  let node: unknown = resolve(ref);
  let name = ref.split('/').at(-1) ?? ref;
  while (typeof (node as { $ref?: unknown })?.$ref === 'string') {
    const next = (node as { $ref: string }).$ref;
    name = next.split('/').at(-1) ?? next;
    node = resolve(next);
  }
  return name;
}

function resolve(ref: string): unknown {
  let node: unknown = document;
  for (const key of ref.replace(/^#\//, '').split('/')) {
    node = (node as Node | undefined)?.[key];
  }
  return node;
}

function deref(node: unknown): Node {
  let current = node as Node;
  while (typeof current?.$ref === 'string') {
    current = resolve(current.$ref) as Node;
  }
  return current;
}

const validators = new Map<string, ValidateFunction>();
function validatorOf(message: string): ValidateFunction {
  let validate = validators.get(message);
  if (!validate) {
    validate = ajv.compile({
      $ref: `${DOCUMENT_ID}#/components/messages/${message}/payload`,
    });
    validators.set(message, validate);
  }
  return validate;
}

/** Paths of fields in `value` that `schema` (and its oneOf/anyOf/allOf branches) do not name. */
function undocumented(value: unknown, schema: unknown, path = ''): string[] {
  const node = deref(schema);
  if (typeof node !== 'object' || node === null) {
    return [];
  }
  const branches = [
    node,
    ...(['oneOf', 'anyOf', 'allOf'] as const).flatMap((key) =>
      Array.isArray(node[key]) ? (node[key] as unknown[]).map(deref) : [],
    ),
  ];
  if (Array.isArray(value)) {
    const items = branches.find((branch) => branch.items)?.items;
    return items === undefined
      ? []
      : value.flatMap((item, i) => undocumented(item, items, `${path}[${i}]`));
  }
  if (typeof value !== 'object' || value === null) {
    return [];
  }
  if (branches.some((branch) => branch.additionalProperties === true)) {
    return [];
  }
  const properties = branches.flatMap((branch) =>
    typeof branch.properties === 'object' && branch.properties !== null
      ? Object.entries(branch.properties as Node)
      : [],
  );
  if (properties.length === 0) {
    return [];
  }
  return Object.entries(value).flatMap(([key, field]) => {
    const described = properties.filter(([name]) => name === key);
    if (described.length === 0) {
      return [`${path}.${key}`];
    }
    // A field described by several branches is documented if one of them describes it all.
    const missing = described.map(([, sub]) =>
      undocumented(field, sub, `${path}.${key}`),
    );
    return missing.find((paths) => paths.length === 0) ?? missing[0] ?? [];
  });
}

/** Messages of the `send` operations, by the `event` their payload carries. */
const pushMessages = new Map<string, string[]>();
for (const operation of Object.values(document.operations)) {
  if (operation.action !== 'send') {
    continue;
  }
  for (const { $ref } of operation.messages) {
    const name = messageName($ref);
    const payload = deref(document.components.messages[name]?.payload);
    const event = deref(deref(payload.properties).event).const as string;
    pushMessages.set(event, [...(pushMessages.get(event) ?? []), name]);
  }
}

/** A client that records every frame it receives, whatever the spec waits for. */
class RecordingClient extends WsTestClient {
  readonly received: Frame[] = [];
  readonly sent = new Map<string | number, { event: string; data: unknown }>();

  constructor(url: string, protocols?: string[]) {
    super(url, protocols);
    this.socket.on('message', (data) => {
      this.received.push(
        JSON.parse((data as Buffer).toString('utf8')) as Frame,
      );
    });
  }

  override emit(
    event: string,
    data?: unknown,
    id?: string | number,
  ): string | number {
    const sentId = super.emit(event, data, id);
    this.sent.set(sentId, { event, data });
    return sentId;
  }
}

describe('AsyncAPI document against the running server (e2e)', () => {
  let chat: RunningChatApp;
  const clients: RecordingClient[] = [];

  async function open(token: string, path = '/ws'): Promise<RecordingClient> {
    const client = new RecordingClient(chat.url(path), ['bearer', token]);
    clients.push(client);
    await client.next('welcome');
    return client;
  }

  beforeAll(async () => {
    chat = await startChatApp({ WS_RATE_LIMIT: '3' });
  });

  afterAll(async () => {
    for (const client of clients) {
      client.socket.terminate();
    }
    await chat.close();
  });

  it('sends only frames its messages describe, and every message it describes', async () => {
    const alice = await open(signToken('alice'), '/ws/lobby');
    await alice.next('join');
    const bob = await open(signToken('bob'));

    const ok = async (event: string, data: unknown): Promise<Frame> => {
      const reply = await bob.request(event, data);
      expect({ event, reply: reply.event }).toEqual({ event, reply: event });
      return reply;
    };
    const fails = async (
      event: string,
      data: unknown,
      code: string,
    ): Promise<void> => {
      const reply = await bob.request(event, data);
      expect({ event, code: reply.data.code }).toEqual({ event, code });
    };

    await ok('join', { room: 'lobby' });
    const posted = await ok('message', { room: 'lobby', text: 'hello' });
    await alice.waitFor(
      (f) => f.event === 'message' && f.data.id === posted.data.id,
      'the room message at alice',
    );
    await ok('private', { to: 'alice', text: 'psst' });
    await alice.next('private');
    await ok('history', { room: 'lobby', limit: 10 });
    await ok('history', { with: 'alice', after: '0' });
    await ok('rooms', {});
    await ok('members', { room: 'lobby' });
    await ok('status', { status: 'away' });
    await alice.next('status');
    await ok('typing', { room: 'lobby' });
    await alice.next('typing');
    await ok('refresh', { token: signToken('bob') });
    await ok('ping', {});

    await fails('nonsense', {}, 'UNKNOWN_EVENT');
    await fails('join', { room: 'no spaces' }, 'VALIDATION_FAILED');
    await fails('history', { room: 'elsewhere' }, 'FORBIDDEN');
    await fails('members', {}, 'VALIDATION_FAILED');
    await fails('refresh', { token: signToken('alice') }, 'UNAUTHORIZED');
    await fails('private', { to: 'nobody-here', text: 'hi' }, 'NOT_FOUND');
    // Three chat frames so far this minute (the refused private counts too): one more is over.
    await fails('message', { room: 'lobby', text: 'again' }, 'RATE_LIMITED');
    bob.sendRaw('not json');
    expect((await bob.next('exception')).data.code).toBe('BAD_REQUEST');

    // alice's last connection closes: bob sees her leave and go offline.
    alice.close();
    await bob.waitFor(
      (f) => f.event === 'presence' && f.data.action === 'leave',
      "alice's leave",
    );
    await bob.waitFor(
      (f) => f.event === 'status' && f.data.status === 'offline',
      "alice's offline",
    );
    await ok('leave', { room: 'lobby' });

    const seen = new Set<string>();
    const problems: string[] = [];
    for (const client of [alice, bob]) {
      for (const [id, { event, data }] of client.sent) {
        const operation = document.operations[event];
        if (!operation || event === 'nonsense') {
          continue;
        }
        const request = messageName(operation.messages[0]?.$ref ?? '');
        const frame = { event, data, id };
        const valid = validatorOf(request)(frame);
        // Requests meant to fail validation are allowed not to match.
        if (!valid && !['join', 'members'].includes(event)) {
          problems.push(`request ${JSON.stringify(frame)} is not a ${request}`);
        }
      }
      for (const frame of client.received) {
        const request =
          frame.id !== undefined ? client.sent.get(frame.id) : undefined;
        const operation =
          request !== undefined
            ? document.operations[request.event]
            : undefined;
        const candidates =
          operation !== undefined
            ? (operation.reply?.messages ?? []).map(({ $ref }) =>
                messageName($ref),
              )
            : frame.event === 'exception'
              ? ['exception'] // also the reply to an unknown event
              : (pushMessages.get(frame.event) ?? []);
        const matching = candidates.filter((name) => validatorOf(name)(frame));
        if (matching.length === 0) {
          const errors = candidates.map((name) => {
            const validate = validatorOf(name);
            validate(frame);
            return `${name}: ${ajv.errorsText(validate.errors)}`;
          });
          problems.push(
            `${JSON.stringify(frame)} matches none of [${candidates.join(', ')}]: ${errors.join('; ')}`,
          );
          continue;
        }
        const name = matching[0] ?? '';
        seen.add(name);
        const extra = undocumented(
          frame,
          document.components.messages[name]?.payload,
        );
        if (extra.length > 0) {
          problems.push(
            `${JSON.stringify(frame)} (${name}) has undocumented fields ${extra.join(', ')}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);

    const sentByServer = Object.values(document.operations).flatMap(
      (operation) =>
        operation.action === 'send'
          ? operation.messages
          : (operation.reply?.messages ?? []),
    );
    const documented = [
      ...new Set(sentByServer.map(({ $ref }) => messageName($ref))),
    ].sort();
    expect(documented.filter((name) => !seen.has(name))).toEqual([]);
  });
});
