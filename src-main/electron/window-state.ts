/**
 * The main window's bounds and maximized state, remembered in `DATA_DIR/window-state.json`.
 * Saved atomically (a crash mid-write leaves the last good file), debounced while the user drags,
 * and restored only where a display still shows it: a laptop unplugged from its second monitor
 * must not open Loupe off screen.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserWindow } from 'electron';
import { writeFileAtomic } from '../data/atomic-write';

export const WINDOW_STATE_FILE = 'window-state.json';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  bounds: Rect;
  maximized: boolean;
}

/** Where and how big the window opens; no x/y means centred on the primary display. */
export interface InitialWindow {
  bounds: { x?: number; y?: number; width: number; height: number };
  maximized: boolean;
}

const MIN = { width: 640, height: 400 };
const DEFAULT = { width: 1280, height: 800 };
/** A remembered window must show this much of its title strip on some display to be reachable. */
const GRAB = { width: 120, height: 24 };

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** The state in a parsed file, or undefined when it is not one (hand-edited, older, corrupt). */
export function parseWindowState(value: unknown): WindowState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { bounds, maximized } = value as Record<string, unknown>;
  if (typeof bounds !== 'object' || bounds === null) return undefined;
  const { x, y, width, height } = bounds as Record<string, unknown>;
  if (!isInt(x) || !isInt(y) || !isInt(width) || !isInt(height)) return undefined;
  if (width < MIN.width || height < MIN.height || width > 100_000 || height > 100_000) {
    return undefined;
  }
  return { bounds: { x, y, width, height }, maximized: maximized === true };
}

/** True when the window's title strip overlaps some work area enough to be grabbed. */
export function isVisibleOn(bounds: Rect, workAreas: Rect[]): boolean {
  const strip = { x: bounds.x, y: bounds.y, width: bounds.width, height: GRAB.height };
  return workAreas.some((area) => {
    const w = Math.min(strip.x + strip.width, area.x + area.width) - Math.max(strip.x, area.x);
    const h = Math.min(strip.y + strip.height, area.y + area.height) - Math.max(strip.y, area.y);
    return w >= Math.min(GRAB.width, strip.width) && h >= GRAB.height;
  });
}

/**
 * The saved state when a display shows it; otherwise the default size (at most 90% of the
 * primary work area), centred, keeping a remembered maximized state.
 */
export function initialWindow(
  saved: WindowState | undefined,
  workAreas: Rect[],
  primary: Rect,
): InitialWindow {
  if (saved && isVisibleOn(saved.bounds, workAreas)) return saved;
  return {
    bounds: {
      width: Math.max(MIN.width, Math.min(DEFAULT.width, Math.floor(primary.width * 0.9))),
      height: Math.max(MIN.height, Math.min(DEFAULT.height, Math.floor(primary.height * 0.9))),
    },
    maximized: saved?.maximized ?? false,
  };
}

/** Reads the remembered state; a missing or unreadable file is simply no memory. */
export async function readWindowState(dataDir: string): Promise<WindowState | undefined> {
  try {
    return parseWindowState(JSON.parse(await readFile(join(dataDir, WINDOW_STATE_FILE), 'utf8')));
  } catch {
    return undefined;
  }
}

export interface WindowStateTracker {
  /** Saves the window's state now (if it still exists) and waits for every write to finish. */
  flush(): Promise<void>;
}

/**
 * Saves `win`'s state after each move or resize settles (`debounceMs`) and when it closes.
 * Writes are chained so that an older state never lands after a newer one.
 */
export function trackWindowState(
  win: BrowserWindow,
  dataDir: string,
  onError: (err: Error) => void,
  debounceMs = 500,
): WindowStateTracker {
  const file = join(dataDir, WINDOW_STATE_FILE);
  let timer: NodeJS.Timeout | undefined;
  let writes = Promise.resolve();
  const save = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (win.isDestroyed()) return;
    const state: WindowState = { bounds: win.getNormalBounds(), maximized: win.isMaximized() };
    writes = writes
      .then(() => writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`))
      .catch(onError);
  };
  const later = (): void => {
    clearTimeout(timer);
    timer = setTimeout(save, debounceMs);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('maximize', later);
  win.on('unmaximize', later);
  win.on('close', save);
  return {
    flush() {
      save();
      return writes;
    },
  };
}
