/**
 * The packaging configuration, electron-builder.yml, cannot be exercised here (no Electron
 * runtime, no Mac, no signing identity), so this checks what can be checked without building:
 * it is valid against electron-builder's own schema, every file it names exists, the targets are
 * the ones the project ships, and the notarization hook decides to run or skip correctly.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

// js-yaml is the parser electron-builder reads electron-builder.yml with (app-builder-lib's
// config loader), so the test sees the file exactly as the build does. It comes with
// electron-builder; it has no types of its own here.
const yaml = require('js-yaml') as { load(text: string): unknown };
const SCHEMA_PATH = require.resolve('app-builder-lib/scheme.json');

type Config = Record<string, unknown>;
const loadConfig = (): Config =>
  yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Config;

/**
 * electron-builder's own validator (app-builder-lib/out/util/config/schemaValidator.js): ajv with
 * these options over scheme.json. `logger: false` mutes the note about scheme.json's custom
 * `typeof: function` keyword, which strict: false ignores there too.
 */
let compiled: ValidateFunction | undefined;
function schemaErrors(config: Config): string[] {
  compiled ??= new Ajv({
    allErrors: true,
    verbose: true,
    coerceTypes: true,
    strict: false,
    logger: false,
  }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')));
  // coerceTypes rewrites values in place; validate a copy so the caller's object stays as read.
  if (compiled(structuredClone(config))) return [];
  // Most sections are "X or null"; a bad X also fails the null branch and the anyOf, which say
  // nothing more, so only the errors about X itself are kept.
  return (compiled.errors ?? [])
    .filter((e) => !['anyOf', 'oneOf'].includes(e.keyword))
    .filter((e) => !(e.keyword === 'type' && e.params.type === 'null'))
    .map((e) =>
      e.keyword === 'additionalProperties'
        ? `${e.instancePath || '/'} has an unknown property '${String(e.params.additionalProperty)}'`
        : `${e.instancePath || '/'} ${e.message}`,
    );
}

/** Keys whose value is a file or folder of the project, wherever they appear. */
const PATH_KEYS = new Set([
  'icon',
  'entitlements',
  'entitlementsInherit',
  'entitlementsLoginHelper',
  'provisioningProfile',
  'license',
  'installerIcon',
  'uninstallerIcon',
  'installerHeader',
  'installerHeaderIcon',
  'installerSidebar',
  'uninstallerSidebar',
  'include',
  'script',
  'background',
  'afterSign',
  'afterPack',
  'beforePack',
  'afterAllArtifactBuild',
  'beforeBuild',
  'buildResources',
]);

/** Every [where, path] the config names, found by walking it. */
function namedPaths(value: unknown, where = ''): [string, string][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => namedPaths(item, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]): [string, string][] => {
    const at = where ? `${where}.${key}` : key;
    if (PATH_KEYS.has(key) && typeof inner === 'string') return [[at, inner]];
    return namedPaths(inner, at);
  });
}

/** The named paths that do not exist, as "where: path". */
const missingPaths = (config: Config): string[] =>
  namedPaths(config)
    .filter(([, path]) => !existsSync(join(ROOT, path)))
    .map(([where, path]) => `${where}: ${path}`);

const targetNames = (platform: unknown): string[] => {
  const target = (platform as { target: unknown }).target;
  return (Array.isArray(target) ? target : [target]).map((t) =>
    typeof t === 'string' ? t : (t as { target: string }).target,
  );
};

describe('electron-builder.yml', () => {
  it('is valid against electron-builder’s schema', () => {
    expect(schemaErrors(loadConfig())).toEqual([]);
  });

  it('passes electron-builder’s own validateConfiguration too', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(config: Config, log: { isEnabled: boolean }): Promise<void>;
    };
    await expect(validateConfiguration(loadConfig(), { isEnabled: false })).resolves.toBe(
      undefined,
    );
    await expect(
      validateConfiguration({ ...loadConfig(), appID: 'x' }, { isEnabled: false }),
    ).rejects.toThrow(/unknown property 'appID'/);
  });

  it('a broken copy fails the schema: unknown keys, misplaced keys, wrong types', () => {
    const config = loadConfig();
    expect(schemaErrors({ ...config, appID: 'typo' })).toEqual([
      "/ has an unknown property 'appID'",
    ]);
    const mac = config.mac as Config;
    expect(schemaErrors({ ...config, mac: { ...mac, hardenedRuntme: true } })).toEqual([
      "/mac has an unknown property 'hardenedRuntme'",
    ]);
    // oneClick belongs to nsis, not win.
    expect(
      schemaErrors({ ...config, win: { ...(config.win as Config), oneClick: false } }),
    ).toEqual(["/win has an unknown property 'oneClick'"]);
    expect(
      schemaErrors({ ...config, nsis: { ...(config.nsis as Config), oneClick: 'often' } }),
    ).toEqual(['/nsis/oneClick must be boolean']);
  });

  it('names only files that exist', () => {
    const config = loadConfig();
    const named = namedPaths(config).map(([where]) => where);
    // The walk finds what matters (so an empty "missing" list means something).
    expect(named).toEqual(
      expect.arrayContaining([
        'directories.buildResources',
        'icon',
        'afterSign',
        'mac.icon',
        'mac.entitlements',
        'mac.entitlementsInherit',
        'win.icon',
        'linux.icon',
      ]),
    );
    expect(missingPaths(config)).toEqual([]);
    expect(statSync(join(ROOT, config.afterSign as string)).isFile()).toBe(true);
    expect(
      statSync(join(ROOT, (config.directories as Config).buildResources as string)).isDirectory(),
    ).toBe(true);
  });

  it('a broken copy naming a missing file is caught', () => {
    const config = loadConfig();
    const broken = {
      ...config,
      mac: { ...(config.mac as Config), entitlements: 'assets/nope.plist' },
      nsis: { ...(config.nsis as Config), license: 'LICENSE-missing.txt' },
    };
    expect(missingPaths(broken)).toEqual([
      'mac.entitlements: assets/nope.plist',
      'nsis.license: LICENSE-missing.txt',
    ]);
  });

  it('builds what the issue asks for on each platform', () => {
    const config = loadConfig();
    const mac = config.mac as Config;
    expect(targetNames(mac)).toEqual(['dmg']);
    expect((mac.target as { arch: string[] }[])[0]!.arch).toEqual(['x64', 'arm64']);
    expect(mac).toMatchObject({
      hardenedRuntime: true,
      gatekeeperAssess: false,
      entitlements: 'assets/entitlements.mac.plist',
      entitlementsInherit: 'assets/entitlements.mac.plist',
      // Our afterSign hook notarizes; the built-in step must not run as well.
      notarize: false,
    });
    expect(targetNames(config.win)).toEqual(['nsis']);
    expect(config.nsis).toMatchObject({
      oneClick: false,
      perMachine: false,
      allowToChangeInstallationDirectory: true,
    });
    expect(targetNames(config.linux)).toEqual(['AppImage', 'deb']);
    expect(config.linux).toMatchObject({ category: 'Development' });
    const linux = config.linux as Config;
    expect(linux.maintainer).toMatch(/^.+ <[^@\s]+@[^@\s]+>$/);
    expect(linux.synopsis).toEqual(expect.any(String));
  });

  it('packages the compiled app: package.json main, the preload and the UI', () => {
    const config = loadConfig();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('out/electron/main.cjs');
    expect(config.files).toEqual([
      'out/electron/**',
      'out/preload/**',
      'out/renderer/**',
      '!out/**/*.map',
      'package.json',
    ]);
    // What the app loads at run time (src-main/electron/paths.ts: the preload and the UI sit
    // next to the main bundle) lives under the shipped folders.
    const shipped = (config.files as string[])
      .filter((p) => p.endsWith('/**') && !p.startsWith('!'))
      .map((p) => p.slice(0, -2));
    for (const file of [pkg.main, 'out/preload/preload.cjs', 'out/renderer/index.html']) {
      expect(
        shipped.some((dir) => file.startsWith(dir)),
        file,
      ).toBe(true);
    }
  });

  it('has a 1024×1024 PNG icon and entitlements that allow V8’s JIT', () => {
    const png = readFileSync(join(ROOT, 'assets/icon.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1024, 1024]);
    const plist = readFileSync(join(ROOT, 'assets/entitlements.mac.plist'), 'utf8');
    expect(plist).toMatch(/<key>com\.apple\.security\.cs\.allow-jit<\/key>\s*<true\/>/);
    expect(plist).not.toMatch(/<key>com\.apple\.security\.cs\.allow-unsigned/);
  });
});

interface HookContext {
  electronPlatformName: string;
  appOutDir: string;
  packager: { appInfo: { productFilename: string } };
}
interface Hook {
  afterSign(
    context: HookContext,
    deps?: {
      env?: Record<string, string | undefined>;
      notarize?: (options: Record<string, string>) => Promise<void>;
      log?: (line: string) => void;
    },
  ): Promise<boolean>;
}

describe('the notarization hook', () => {
  const hook = require(join(ROOT, loadConfig().afterSign as string)) as Hook;
  const mac: HookContext = {
    electronPlatformName: 'darwin',
    appOutDir: '/build/mac-arm64',
    packager: { appInfo: { productFilename: 'Loupe' } },
  };
  /** Runs the hook with `env`; notarize is a mock, so nothing here reaches the network. */
  async function run(env: Record<string, string>, context = mac) {
    const notarize = vi.fn(async () => {});
    const lines: string[] = [];
    const ran = await hook.afterSign(context, { env, notarize, log: (l) => lines.push(l) });
    return { ran, notarize, lines };
  }

  it('is what electron-builder resolves from the afterSign setting', async () => {
    // electron-builder's own resolver, as it loads hooks (relative to the working directory,
    // which is the project root under vitest as under `npm run dist`).
    const { resolveFunction } = require('app-builder-lib/out/util/resolve.js') as {
      resolveFunction(type: unknown, executor: string, name: string, root: string): unknown;
    };
    const resolved = await resolveFunction(
      undefined,
      loadConfig().afterSign as string,
      'afterSign',
      ROOT,
    );
    expect(resolved).toBe(hook.afterSign);
  });

  it('skips and says why when no credentials are set', async () => {
    const { ran, notarize, lines } = await run({});
    expect(ran).toBe(false);
    expect(notarize).not.toHaveBeenCalled();
    expect(lines.join('\n')).toMatch(/skipped notarization: no Apple credentials.*APPLE_ID/);
  });

  it('skips builds for other platforms even with credentials', async () => {
    const env = { APPLE_ID: 'a@b.c', APPLE_APP_SPECIFIC_PASSWORD: 'p', APPLE_TEAM_ID: 'T' };
    for (const platform of ['linux', 'win32', 'mas']) {
      const { ran, notarize } = await run(env, { ...mac, electronPlatformName: platform });
      expect(ran).toBe(false);
      expect(notarize).not.toHaveBeenCalled();
    }
  });

  it('notarizes the .app with an Apple ID', async () => {
    const { ran, notarize } = await run({
      APPLE_ID: 'dev@loupe.dev',
      APPLE_APP_SPECIFIC_PASSWORD: 'abcd-efgh',
      APPLE_TEAM_ID: 'TEAM123',
    });
    expect(ran).toBe(true);
    expect(notarize).toHaveBeenCalledExactlyOnceWith({
      appPath: '/build/mac-arm64/Loupe.app',
      appleId: 'dev@loupe.dev',
      appleIdPassword: 'abcd-efgh',
      teamId: 'TEAM123',
    });
  });

  it('notarizes with an API key, or a keychain profile', async () => {
    const api = await run({ APPLE_API_KEY: '/k.p8', APPLE_API_KEY_ID: 'K', APPLE_API_ISSUER: 'I' });
    expect(api.notarize).toHaveBeenCalledExactlyOnceWith({
      appPath: '/build/mac-arm64/Loupe.app',
      appleApiKey: '/k.p8',
      appleApiKeyId: 'K',
      appleApiIssuer: 'I',
    });
    const keychain = await run({ APPLE_KEYCHAIN_PROFILE: 'loupe' });
    expect(keychain.notarize).toHaveBeenCalledExactlyOnceWith({
      appPath: '/build/mac-arm64/Loupe.app',
      keychainProfile: 'loupe',
    });
  });

  it('fails, naming what is missing, when credentials are only partly set', async () => {
    await expect(run({ APPLE_ID: 'dev@loupe.dev', APPLE_TEAM_ID: 'T' })).rejects.toThrow(
      'APPLE_ID, APPLE_TEAM_ID set but APPLE_APP_SPECIFIC_PASSWORD missing',
    );
    await expect(run({ APPLE_API_KEY_ID: 'K' })).rejects.toThrow(
      'APPLE_API_KEY, APPLE_API_ISSUER missing',
    );
  });
});
