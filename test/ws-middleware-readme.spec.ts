import { Test } from '@nestjs/testing';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  resolveWsMiddlewareOptions,
  WS_COUNTER_STORAGE,
  WS_HANDSHAKE_STORAGE,
  WsMiddlewareModule,
} from '@app/ws-middleware';
import { TEST_SECRET } from './support/tokens.js';

const README_PATH = fileURLToPath(
  new URL('../libs/ws-middleware/README.md', import.meta.url),
);
const OPTIONS_SOURCE_PATH = fileURLToPath(
  new URL(
    '../libs/ws-middleware/src/interfaces/ws-middleware-options.interface.ts',
    import.meta.url,
  ),
);

/** Fields of the resolved options that are not options a user passes. */
const DERIVED_FIELDS = new Set(['jwtKey']);

/** The `| \`option\` | default | meaning |` rows of the README's "Options" section. */
function readmeOptionRows(): Map<string, string> {
  const readme = readFileSync(README_PATH, 'utf8');
  const start = readme.indexOf('\n## Options\n');
  const end = readme.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(-1);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start, end).split('\n')) {
    const match = /^\|\s*`(\w+)`\s*\|\s*(.*?)\s*\|/.exec(line);
    if (match?.[1] && match[2] !== undefined) {
      rows.set(match[1], match[2]);
    }
  }
  return rows;
}

/** The value a README default cell states for a number, boolean, `{}` or `[]`; else undefined. */
function statedValue(cell: string): unknown {
  const first = /^`([^`]+)`/.exec(cell)?.[1];
  if (first === undefined) {
    return undefined;
  }
  if (/^\d+$/.test(first)) {
    return Number(first);
  }
  if (first === 'true' || first === 'false') {
    return first === 'true';
  }
  if (first === '{}' || first === '[]') {
    return JSON.parse(first) as unknown;
  }
  return undefined;
}

/** `field -> "Default ..."` from the JSDoc line of each field of WsMiddlewareModuleOptions. */
function jsDocDefaults(): Map<string, string> {
  const source = readFileSync(OPTIONS_SOURCE_PATH, 'utf8');
  const body = source.slice(
    source.indexOf('export interface WsMiddlewareModuleOptions'),
  );
  const defaults = new Map<string, string>();
  for (const match of body.matchAll(
    /\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*(\w+)\??:/g,
  )) {
    const doc = match[1]?.replace(/\s*\*\s*/g, ' ') ?? '';
    const stated =
      /Default:? ([^.;,]+)/.exec(doc)?.[1] ??
      (/`(\w+)` \(default\)/.exec(doc)?.[1] as string | undefined);
    if (match[2] && stated !== undefined) {
      defaults.set(match[2], stated.trim());
    }
  }
  return defaults;
}

function fromJsDoc(stated: string): unknown {
  if (/^\d+$/.test(stated)) {
    return Number(stated);
  }
  if (stated === '1 MiB') {
    return 1024 * 1024;
  }
  if (stated === 'true' || stated === 'false') {
    return stated === 'true';
  }
  return undefined;
}

describe('Library README options table (libs/ws-middleware/README.md)', () => {
  const defaults = resolveWsMiddlewareOptions({ jwtSecret: TEST_SECRET });
  const options = [
    'jwtSecret',
    ...Object.keys(defaults).filter((field) => !DERIVED_FIELDS.has(field)),
  ];
  const rows = readmeOptionRows();

  it('lists every option, and no option the code does not have', () => {
    expect([...rows.keys()].sort()).toEqual([...options].sort());
  });

  it('states the default the code applies for every number, boolean, object and list', () => {
    const stated = options
      .map((field) => [field, statedValue(rows.get(field) ?? '')] as const)
      .filter(([, value]) => value !== undefined);
    // The table has many of them; a parser that found none would prove nothing.
    expect(stated.length).toBeGreaterThanOrEqual(15);
    for (const [field, value] of stated) {
      expect({ field, default: value }).toEqual({
        field,
        default: (defaults as unknown as Record<string, unknown>)[field],
      });
    }
    expect(rows.get('jwtSecret')).toBe('required');
    expect(defaults.allowedOrigins).toBe('same-origin');
    expect(rows.get('allowedOrigins')).toMatch(/^same-origin only/);
    for (const field of ['validateUser', 'transform'] as const) {
      expect({ field, resolved: defaults[field] }).toEqual({
        field,
        resolved: undefined,
      });
      expect(rows.get(field)).toMatch(/^none/);
    }
  });

  it('names the storage classes the module creates by default', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [WsMiddlewareModule.forRoot({ jwtSecret: TEST_SECRET })],
    }).compile();
    try {
      for (const [field, token] of [
        ['counterStorage', WS_COUNTER_STORAGE],
        ['handshakeStorage', WS_HANDSHAKE_STORAGE],
      ] as const) {
        const storage = moduleRef.get<object>(token);
        expect({ field, cell: rows.get(field) }).toEqual({
          field,
          cell: expect.stringContaining(
            `in this process (\`${storage.constructor.name}\`)`,
          ) as unknown,
        });
      }
    } finally {
      await moduleRef.close();
    }
  });

  it('agrees with the "Default ..." of each option\'s JSDoc', () => {
    const documented = [...jsDocDefaults()]
      .map(([field, stated]) => [field, fromJsDoc(stated)] as const)
      .filter(([, value]) => value !== undefined);
    expect(documented.length).toBeGreaterThanOrEqual(12);
    for (const [field, value] of documented) {
      expect({ field, default: value }).toEqual({
        field,
        default: (defaults as unknown as Record<string, unknown>)[field],
      });
    }
  });
});
