/**
 * Validates a document against the HAR 1.2 JSON schema (the `har-schema` package, the schema the
 * HAR tooling ecosystem validates with). Returns readable problems; an empty list means valid.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const schemas = require('har-schema') as Record<string, { $id: string }>;

const ajv = new Ajv({ allErrors: true, strict: false });
// har-schema is written against draft-06; ajv 8 ships that meta-schema but does not load it.
ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object);
addFormats(ajv);
for (const schema of Object.values(schemas)) ajv.addSchema(schema);
const validate = ajv.getSchema('har.json#')!;

export function validateHar(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
