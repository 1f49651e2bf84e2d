// The import zones of eslint.config.js, checked against docs/ARCHITECTURE.md ("Layout"): each row
// lints a one-line file at a virtual path and says whether its import must pass.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });
const ZONE_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

/** The zone messages for `code` as if it were the file at `path`; throws on a parse error. */
async function zoneErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${path}`, warnIgnored: true });
  const messages = result?.messages ?? [];
  const fatal = messages.find((m) => m.fatal);
  if (fatal) throw new Error(`${path}: ${fatal.message}`);
  return messages
    .filter((m) => m.ruleId !== null && ZONE_RULES.has(m.ruleId))
    .map((m) => m.message);
}

type Row = [file: string, specifier: string, allowed: boolean];
const ok = (file: string, specifier: string): Row => [file, specifier, true];
const no = (file: string, specifier: string): Row => [file, specifier, false];

const ROWS: Row[] = [
  // electron only in src-main/electron and src-preload
  ok('src-main/electron/main.ts', 'electron'),
  ok('src-main/electron/windows/main-window.ts', 'electron/main'),
  ok('src-preload/index.ts', 'electron'),
  no('src-main/engine/proxy-server.ts', 'electron'),
  no('src-main/services/proxy.ts', 'electron'),
  no('src-main/headless/run.ts', 'electron/main'),
  no('src-renderer/app/App.tsx', 'electron'),
  no('src-common/api/contract.ts', 'electron'),
  no('scripts/build.js', 'electron'),
  ok('src-main/headless/run.ts', 'electron-store'),

  // the renderer: no Node, no electron, nothing from src-main or src-preload
  no('src-renderer/api/client.ts', 'node:fs'),
  no('src-renderer/api/client.ts', 'fs'),
  no('src-renderer/api/client.ts', 'fs/promises'),
  no('src-renderer/api/client.ts', 'net'),
  no('src-renderer/api/client.ts', 'path'),
  no('src-renderer/api/client.ts', '../../src-main/engine/index'),
  no('src-renderer/features/sessions/Table.tsx', '../../../src-main/flows/flow-store'),
  no('src-renderer/features/sessions/Table.tsx', '../../../src-preload/index'),
  no('src-renderer/api/client.ts', '../../src-main/test-support/headless'),
  ok('src-renderer/api/client.ts', '../../src-common/api/contract'),
  ok('src-renderer/app/App.tsx', 'react'),
  ok('src-renderer/app/App.tsx', '../store/flows'),
  ok('src-renderer/api/client.test.ts', 'node:fs'),
  ok('src-renderer/api/client.test.ts', '../../src-main/test-support/headless'),
  no('src-renderer/api/client.test.ts', '../../src-main/engine/index'),

  // src-common: nothing outside itself
  ok('src-common/api/contract.ts', '../flow'),
  ok('src-common/har/convert.ts', './types'),
  no('src-common/har/convert.ts', 'node:path'),
  no('src-common/har/convert.ts', 'zlib'),
  no('src-common/har/convert.ts', 'react'),
  no('src-common/har/convert.ts', '../../src-main/flows/flow-store'),
  no('src-common/har/convert.ts', '../../src-renderer/store/flows'),
  no('src-common/flow.ts', '../package.json'),
  ok('src-common/har/convert.test.ts', 'vitest'),
  ok('src-common/har/convert.test.ts', 'node:fs'),
  ok('src-common/har/convert.test.ts', '../../src-main/test-support/har-schema'),
  no('src-common/har/convert.test.ts', '../../src-main/engine/index'),

  // src-main/engine: certs, data and src-common only
  ok('src-main/engine/proxy-server.ts', './hooks'),
  ok('src-main/engine/proxy-server.ts', 'node:net'),
  ok('src-main/engine/proxy-server.ts', '../certs/ca'),
  ok('src-main/engine/proxy-server.ts', '../../src-common/flow'),
  no('src-main/engine/proxy-server.ts', '../flows/flow-store'),
  no('src-main/engine/proxy-server.ts', '../services/proxy'),
  no('src-main/engine/proxy-server.ts', '../addons/capture'),
  no('src-main/engine/proxy-server.ts', '../electron/main'),
  no('src-main/engine/proxy-server.ts', '../headless/run'),
  no('src-main/engine/proxy-server.ts', '../../src-main/flows/flow-store'),
  no('src-main/engine/h2/session.ts', '../../flows'),
  no('src-main/engine/proxy-server.ts', 'node-forge'),
  no('src-main/engine/proxy-server.ts', '../test-support/headless'),
  ok('src-main/engine/upgrade.test.ts', '../test-support/headless'),
  no('src-main/engine/upgrade.test.ts', '../flows/flow-store'),

  // src-main/certs: Node, node-forge and src-common only
  ok('src-main/certs/leaf.ts', 'node-forge'),
  ok('src-main/certs/leaf.ts', 'node:crypto'),
  ok('src-main/certs/leaf.ts', 'crypto'),
  ok('src-main/certs/leaf.ts', './ca'),
  ok('src-main/certs/leaf.ts', '../../src-common/flow'),
  no('src-main/certs/leaf.ts', '@peculiar/x509'),
  no('src-main/certs/leaf.ts', '@vscode/sudo-prompt'),
  no('src-main/certs/leaf.ts', '../engine/index'),
  ok('src-main/certs/leaf.ts', '../data/atomic'),
  no('src-main/certs/leaf.ts', '../flows/flow-store'),
  ok('src-main/certs/leaf.test.ts', '@peculiar/x509'),

  // src-main/platform: Node, @vscode/sudo-prompt and src-common only
  ok('src-main/platform/elevate.ts', '@vscode/sudo-prompt'),
  ok('src-main/platform/elevate.ts', 'node:child_process'),
  no('src-main/platform/elevate.ts', 'node-forge'),
  no('src-main/platform/elevate.ts', 'which'),
  no('src-main/platform/elevate.ts', '../certs/ca'),

  // node-forge and the elevation prompt stay behind their folders
  no('src-main/services/system.ts', '@vscode/sudo-prompt'),
  no('src-main/headless/run.ts', 'node-forge'),
  no('src-main/headless/run.ts', 'node-forge/lib/pki'),
  no('bench/http-proxy.ts', 'node-forge'),

  // the other src-main folders
  ok('src-main/data/settings.ts', '../../src-common/settings'),
  no('src-main/data/settings.ts', '../flows/flow-store'),
  ok('src-main/flows/flow-store.ts', '../data/atomic'),
  no('src-main/flows/flow-store.ts', '../engine/hooks'),
  ok('src-main/addons/capture.ts', '../engine/hooks'),
  ok('src-main/addons/capture.ts', '../flows/flow-store'),
  no('src-main/addons/capture.ts', '../services/flows'),
  ok('src-main/services/proxy.ts', '../engine/index'),
  ok('src-main/services/proxy.ts', '../platform/system-proxy'),
  no('src-main/services/proxy.ts', '../electron/ipc'),
  ok('src-main/headless/run.ts', '../addons/capture'),
  no('src-main/headless/run.ts', '../electron/ipc'),
  no('src-main/headless/run.ts', '../../src-renderer/app/App'),
  ok('src-main/electron/ipc.ts', '../services/proxy'),
  ok('src-main/electron/ipc.ts', '../../src-common/api/contract'),

  // a renderer feature never imports another feature
  ok('src-renderer/features/sessions/SessionTable.tsx', './FlowRow'),
  ok('src-renderer/features/sessions/SessionTable.tsx', '../../store/store'),
  ok('src-renderer/features/sessions/SessionTable.tsx', '../../components/copy'),
  ok('src-renderer/features/sessions/SessionTable.tsx', '../../../src-common/flow-view'),
  no('src-renderer/features/sessions/SessionTable.tsx', '../hosts/HostSidebar'),
  no('src-renderer/features/sessions/SessionTable.tsx', '../status'),
  no('src-renderer/features/sessions/SessionTable.tsx', '../../features/hosts/hosts'),
  no('src-renderer/features/sessions/SessionTable.tsx', 'node:fs'),
  ok('src-renderer/app/App.tsx', '../features/hosts'),

  // src-preload: electron and src-common
  ok('src-preload/index.ts', '../src-common/api/contract'),
  no('src-preload/index.ts', '../src-main/services/proxy'),
  no('src-preload/index.ts', '../src-renderer/api/client'),
  no('src-preload/index.ts', 'node:fs'),

  // tests, test helpers and tools
  ok('src-main/test-support/headless.ts', '../headless/run'),
  ok('src-main/test-support/headless.ts', 'node:child_process'),
  no('src-main/test-support/headless.ts', '../electron/main'),
  ok('bench/http-proxy.ts', '../src-main/engine/index'),
  ok('scripts/build.js', 'node:fs'),
];

describe('import zones', () => {
  it.each(ROWS)('%s importing %s: allowed=%s', async (file, specifier, allowed) => {
    const errors = await zoneErrors(file, `import '${specifier}';\n`);
    if (allowed) expect(errors).toEqual([]);
    else expect(errors).not.toEqual([]);
  });

  const FORMS = [
    "export * from '../flows/flow-store';",
    "export { FlowStore } from '../flows/flow-store';",
    "import type { FlowStore } from '../flows/flow-store';\nexport type { FlowStore };",
    "export const load = () => import('../flows/flow-store');",
    "export const store = require('../flows/flow-store');",
    "import store = require('../flows/flow-store');\nexport { store };",
    "export type Store = import('../flows/flow-store').FlowStore;",
  ];

  it.each(FORMS)('sees every import form: %s', async (code) => {
    expect(await zoneErrors('src-main/engine/proxy-server.ts', code)).not.toEqual([]);
    const allowed = code.replaceAll('../flows/flow-store', './flow-store');
    expect(await zoneErrors('src-main/engine/proxy-server.ts', allowed)).toEqual([]);
  });

  it('explains the rule in the message', async () => {
    const [message] = await zoneErrors('src-renderer/api/client.ts', "import 'node:fs';\n");
    expect(message).toContain('renderer');
    expect(message).toContain('docs/ARCHITECTURE.md');
  });
});
