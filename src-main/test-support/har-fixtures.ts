/**
 * The HAR files of other tools in `test-fixtures/har/` (see its README: who wrote each and how it
 * deviates from the schema), for the import tests.
 */
import { join } from 'node:path';

export const HAR_FIXTURE_DIR = join(import.meta.dirname, '../../test-fixtures/har');

export const HAR_FIXTURES = [
  'charles',
  'chrome',
  'firefox',
  'safari',
  'insomnia',
  'postdata',
  'with-bom',
] as const;
export type HarFixture = (typeof HAR_FIXTURES)[number];

/** The path of one fixture. */
export const harFixture = (name: HarFixture): string => join(HAR_FIXTURE_DIR, `${name}.har`);
