import { describe, expect, it } from 'vitest';
import { appPaths, isAppPage } from './paths';

const bundle = 'file:///opt/loupe/out/electron/main.cjs';

// POSIX paths in the expectations; the logic is path.join and pathToFileURL either way.
describe.skipIf(process.platform === 'win32')('appPaths', () => {
  it('finds the renderer and preload beside the bundle', () => {
    expect(appPaths(bundle, {}, true)).toEqual({
      rendererDir: '/opt/loupe/out/renderer',
      indexHtml: '/opt/loupe/out/renderer/index.html',
      appUrl: 'file:///opt/loupe/out/renderer/index.html',
      preload: '/opt/loupe/out/preload/preload.cjs',
    });
  });

  it('takes LOUPE_RENDERER_DIR in a development build only', () => {
    const env = { LOUPE_RENDERER_DIR: '/tmp/ui' };
    expect(appPaths(bundle, env, false).indexHtml).toBe('/tmp/ui/index.html');
    expect(appPaths(bundle, env, true).indexHtml).toBe('/opt/loupe/out/renderer/index.html');
  });
});

describe('isAppPage', () => {
  const app = 'file:///opt/loupe/out/renderer/index.html';
  it.each([
    [app, true],
    [`${app}#/flows/1`, true],
    [`${app}?x=1`, true],
    ['file:///opt/loupe/out/renderer/other.html', false],
    ['file:///etc/passwd', false],
    ['file://evil-host/opt/loupe/out/renderer/index.html', false],
    ['https://opt/loupe/out/renderer/index.html', false],
    ['http://127.0.0.1:8888/index.html', false],
    ['not a url', false],
    ['', false],
    [undefined, false],
  ])('%j → %j', (url, ok) => {
    expect(isAppPage(url, app)).toBe(ok);
  });
});
