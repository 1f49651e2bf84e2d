/**
 * What the HAR spec needs besides support.ts: the HAR 1.2 schema check (the `har-schema`
 * package, as the vitest suites use it) and the fixtures of other tools with what Loupe's own
 * reader makes of them, so the spec knows each file's flow count and repairs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { importHar } from '../src-common/har/import';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object);
addFormats(ajv);
for (const schema of Object.values(require('har-schema') as Record<string, object>)) {
  ajv.addSchema(schema);
}
const validate = ajv.getSchema('har.json#')!;

/** Readable schema problems; empty when `doc` is valid HAR 1.2. */
export function validateHar(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

export const FIXTURES = [
  'charles',
  'chrome',
  'firefox',
  'safari',
  'insomnia',
  'postdata',
  'with-bom',
] as const;

export interface Fixture {
  name: string;
  path: string;
  flowCount: number;
  repairs: string[];
  skipped: number;
  /** The first flow's URL (tunnels: host:port). */
  firstUrl: string;
}

/** A fixture file and what importing it should give. */
export function fixture(name: (typeof FIXTURES)[number]): Fixture {
  const path = join(ROOT, 'test-fixtures/har', `${name}.har`);
  const read = importHar(readFileSync(path, 'utf8'), { idPrefix: 'x.' });
  if (!read.ok) throw new Error(`${name}.har does not import: ${read.error}`);
  const { flows, repairs, skipped } = read.value;
  const first = flows[0]!;
  const firstUrl =
    first.kind === 'http' ? first.request.url : `${first.target.host}:${first.target.port}`;
  return { name: `${name}.har`, path, flowCount: flows.length, repairs, skipped, firstUrl };
}
