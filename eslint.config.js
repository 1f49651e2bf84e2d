// ESLint for the whole repository. Besides the recommended rules it enforces the layering of
// docs/ARCHITECTURE.md ("Layout"): every folder is an import zone with a list of forbidden import
// specifiers. Specifiers are matched as written, so a relative path is caught by the folder it
// climbs into (`../flows/x`, `../../src-main/flows/x`); that is why the patterns are regexes.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const oneOf = (names) => `(?:${names.map(escape).join('|')})`;
const END = '(?:/|$)';
/** A relative specifier that climbs out of the importing folder: `../`, `../../`… */
const UP = '^(?:\\.\\./)+';
const NODE = `node:|${oneOf(builtinModules)}${END}`;
const LAYOUT = 'see "Layout" in docs/ARCHITECTURE.md';

/**
 * One forbidden family of specifiers. `productOnly` ones do not bind tests (`*.test.ts`) and
 * src-main/test-support, which run in Node under vitest and may read fixtures or use helpers.
 */
const forbid = (regex, message, productOnly = false) => ({ regex, message, productOnly });

const pkg = (name, message) => forbid(`^${escape(name)}${END}`, message);
const ELECTRON = pkg(
  'electron',
  'electron is imported only in src-main/electron and src-preload ' +
    '(in plain Node it is only the path of a binary that may not be installed).',
);
const FORGE = pkg('node-forge', `node-forge is used only behind src-main/certs; ${LAYOUT}.`);
const SUDO = pkg(
  '@vscode/sudo-prompt',
  `the elevation prompt package is used only behind src-main/platform; ${LAYOUT}.`,
);
const PACKAGES = [ELECTRON, FORGE, SUDO];

const TEST_SUPPORT = forbid(
  `(?:^|/)test-support${END}`,
  'src-main/test-support is for tests only; product code never imports it.',
  true,
);

const noNode = (who) =>
  forbid(`^(?:${NODE})`, `${who} has no Node: no Node built-ins; ${LAYOUT}.`, true);

/** Bare specifiers other than Node built-ins and `name`. */
const onlyNodeAnd = (name, who) =>
  forbid(
    `^(?![./]|${NODE}|${escape(name)}${END})`,
    `${who} imports only Node built-ins, ${name} and src-common; ${LAYOUT}.`,
    true,
  );

/** Relative paths into other top-level folders; src-main/test-support stays open to tests. */
const roots = (names, who) =>
  forbid(
    `${UP}${oneOf(names).replace('src-main', `src-main(?!/test-support${END})`)}${END}`,
    `${who} may not import from ${names.join(', ')}; ${LAYOUT}.`,
  );

/** Relative paths into the named folders of src-main, from any depth of the importing folder. */
const mainFolders = (names, who) =>
  forbid(
    `${UP}(?:src-main/)?${oneOf(names)}${END}`,
    `${who} may not import src-main/{${names.join(',')}}; ${LAYOUT}.`,
  );

const MAIN = [
  'addons',
  'certs',
  'data',
  'electron',
  'engine',
  'flows',
  'headless',
  'platform',
  'services',
];

/** A src-main zone: `folder` (or all of src-main) may import only `allowed` of its siblings. */
function mainZone(folder, allowed, { packages = [], extra = [] } = {}) {
  const dir = folder ? `src-main/${folder}` : 'src-main';
  const denied = MAIN.filter((name) => name !== folder && !allowed.includes(name));
  return {
    dir,
    forbid: [
      ...PACKAGES.filter((rule) => !packages.includes(rule)),
      roots(['src-preload', 'src-renderer'], dir),
      ...(denied.length > 0 ? [mainFolders(denied, dir)] : []),
      TEST_SUPPORT,
      ...extra,
    ],
  };
}

/** services, headless and test-support: everything in src-main except electron. */
const SRC_MAIN = mainZone(
  null,
  MAIN.filter((name) => name !== 'electron'),
);

/**
 * Import zones, general before specific. For each file the last matching zone decides, because
 * flat config replaces a rule's options instead of merging them; so each zone lists everything.
 */
const ZONES = [
  { dir: '', forbid: PACKAGES },
  {
    dir: 'src-common',
    forbid: [
      ...PACKAGES,
      forbid(
        '^(?![./])',
        `src-common imports nothing outside itself (no packages, no Node built-ins); ${LAYOUT}.`,
        true,
      ),
      roots(
        [
          'src-main',
          'src-preload',
          'src-renderer',
          'bench',
          'e2e',
          'scripts',
          'bin',
          'package.json',
        ],
        'src-common',
      ),
      TEST_SUPPORT,
    ],
  },
  {
    dir: 'src-preload',
    forbid: [
      FORGE,
      SUDO,
      noNode('The sandboxed preload'),
      roots(['src-main', 'src-renderer'], 'src-preload'),
      TEST_SUPPORT,
    ],
  },
  {
    dir: 'src-renderer',
    forbid: [
      ...PACKAGES,
      noNode('The renderer'),
      roots(['src-main', 'src-preload'], 'src-renderer (it reaches main only through its api/)'),
      TEST_SUPPORT,
    ],
  },
  SRC_MAIN,
  mainZone('engine', ['certs', 'data']),
  mainZone('addons', ['engine', 'flows', 'data']),
  mainZone('flows', ['data']),
  mainZone('data', []),
  mainZone('certs', ['data'], {
    packages: [FORGE],
    extra: [onlyNodeAnd('node-forge', 'src-main/certs')],
  }),
  mainZone('platform', ['data'], {
    packages: [SUDO],
    extra: [onlyNodeAnd('@vscode/sudo-prompt', 'src-main/platform')],
  }),
  mainZone('electron', MAIN, { packages: [ELECTRON] }),
];

/**
 * A renderer feature never imports another one; features talk through the store. From a file in
 * `features/<name>/`, `../x` is a sibling feature and `../../features/x` one too.
 */
const RENDERER = ZONES.find((zone) => zone.dir === 'src-renderer').forbid;
const FEATURE = forbid(
  '^\\.\\./(?!\\.\\./)|^(?:\\.\\./)+features/',
  `a renderer feature never imports another feature; they share state through the store (${LAYOUT}).`,
);

/** The forms no-restricted-imports misses: `import()`, `require()` and `import('…').T`. */
const selectors = ({ regex, message }) => {
  const value = `/${regex.replaceAll('/', '\\/')}/`;
  return [
    `ImportExpression[source.value=${value}]`,
    `CallExpression[callee.name="require"][arguments.0.value=${value}]`,
    `TSImportType[source.value=${value}]`,
  ].map((selector) => ({ selector, message }));
};

const zoneConfig = (name, files, rules) => ({
  name: `loupe/zone ${name}`,
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: rules.map(({ regex, message }) => ({ regex, message, caseSensitive: true })) },
    ],
    'no-restricted-syntax': ['error', ...rules.flatMap(selectors)],
  },
});

const SOURCES = '**/*.{js,mjs,cjs,ts,mts,cts,tsx}';
const TESTS = '**/*.test.{ts,tsx}';
const inDir = (dir, glob) => (dir ? `${dir}/${glob}` : glob);
const testRules = (rules) => rules.filter((rule) => !rule.productOnly);

export default defineConfig(
  globalIgnores(['node_modules/', 'out/', 'dist/', 'coverage/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'loupe/base',
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] },
  },
  { name: 'loupe/node', files: ['**/*.{js,mjs,cjs}'], languageOptions: { globals: globals.node } },
  {
    name: 'loupe/browser',
    files: ['src-renderer/**'],
    languageOptions: { globals: globals.browser },
  },
  // Product code first, then tests, so that a test's zone (without productOnly rules) wins.
  ZONES.map(({ dir, forbid: rules }) =>
    zoneConfig(dir || '*', [inDir(dir, dir ? '**' : SOURCES)], rules),
  ),
  zoneConfig('src-renderer/features', ['src-renderer/features/*/*'], [...RENDERER, FEATURE]),
  ZONES.map(({ dir, forbid: rules }) =>
    zoneConfig(`${dir || '*'} tests`, [inDir(dir, TESTS)], testRules(rules)),
  ),
  zoneConfig('src-main/test-support', ['src-main/test-support/**'], testRules(SRC_MAIN.forbid)),
);
