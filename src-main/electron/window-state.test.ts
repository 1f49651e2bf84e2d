import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  WINDOW_STATE_FILE,
  initialWindow,
  isVisibleOn,
  parseWindowState,
  readWindowState,
} from './window-state';

const laptop = { x: 0, y: 25, width: 1440, height: 875 };
const monitorRight = { x: 1440, y: 0, width: 2560, height: 1440 };
const monitorLeft = { x: -1920, y: 0, width: 1920, height: 1080 };

describe('parseWindowState', () => {
  it.each([
    ['a saved state', { bounds: { x: 10, y: 20, width: 900, height: 600 }, maximized: true }, true],
    [
      'negative coordinates (a display left of the primary)',
      { bounds: { x: -1800, y: 5, width: 900, height: 600 } },
      true,
    ],
    ['no bounds', { maximized: true }, false],
    ['fractional numbers', { bounds: { x: 1.5, y: 0, width: 900, height: 600 } }, false],
    ['strings', { bounds: { x: '1', y: 0, width: 900, height: 600 } }, false],
    ['too small to use', { bounds: { x: 0, y: 0, width: 10, height: 10 } }, false],
    ['absurdly large', { bounds: { x: 0, y: 0, width: 1e9, height: 600 } }, false],
    ['null', null, false],
    ['an array', [1, 2, 3], false],
  ])('%s', (_name, value, ok) => {
    expect(parseWindowState(value) !== undefined).toBe(ok);
  });

  it('reads maximized only when it is exactly true', () => {
    const bounds = { x: 0, y: 0, width: 800, height: 600 };
    expect(parseWindowState({ bounds, maximized: 'yes' })?.maximized).toBe(false);
    expect(parseWindowState({ bounds, maximized: true })?.maximized).toBe(true);
  });
});

describe('isVisibleOn', () => {
  const at = (x: number, y: number) => ({ x, y, width: 1000, height: 700 });
  it.each([
    ['inside the laptop', at(100, 100), [laptop], true],
    ['on a monitor to the right', at(2000, 100), [laptop, monitorRight], true],
    ['on a monitor to the left that is gone', at(-1500, 100), [laptop], false],
    ['on a monitor to the left that is there', at(-1500, 100), [laptop, monitorLeft], true],
    ['title bar above every display', at(100, -650), [laptop], false],
    ['below every display', at(100, 2000), [laptop], false],
    ['hanging off the right edge, title still grabbable', at(1300, 100), [laptop], true],
    ['only a sliver on screen', at(1400, 100), [laptop], false],
    ['no displays at all', at(0, 0), [], false],
  ])('%s', (_name, bounds, areas, visible) => {
    expect(isVisibleOn(bounds, areas)).toBe(visible);
  });
});

describe('initialWindow', () => {
  it('restores a visible saved state as it was', () => {
    const saved = { bounds: { x: 2000, y: 50, width: 1200, height: 800 }, maximized: true };
    expect(initialWindow(saved, [laptop, monitorRight], laptop)).toEqual(saved);
  });

  it('centres the default size when the saved place is gone, keeping maximized', () => {
    const saved = { bounds: { x: 2000, y: 50, width: 1200, height: 800 }, maximized: true };
    expect(initialWindow(saved, [laptop], laptop)).toEqual({
      bounds: { width: 1280, height: 787 },
      maximized: true,
    });
  });

  it('fits the default size to a small display, never below the minimum', () => {
    const tiny = { x: 0, y: 0, width: 600, height: 400 };
    expect(initialWindow(undefined, [tiny], tiny)).toEqual({
      bounds: { width: 640, height: 400 },
      maximized: false,
    });
  });
});

describe('readWindowState', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads what was saved and treats a missing or corrupt file as no memory', async () => {
    dir = mkdtempSync(join(tmpdir(), 'loupe-window-state-'));
    expect(await readWindowState(dir)).toBeUndefined();
    const state = { bounds: { x: 1, y: 2, width: 900, height: 700 }, maximized: false };
    writeFileSync(join(dir, WINDOW_STATE_FILE), JSON.stringify(state));
    expect(await readWindowState(dir)).toEqual(state);
    writeFileSync(join(dir, WINDOW_STATE_FILE), '{"bounds": {"x": 1,');
    expect(await readWindowState(dir)).toBeUndefined();
    expect(readFileSync(join(dir, WINDOW_STATE_FILE), 'utf8')).toContain('"x": 1');
  });
});
