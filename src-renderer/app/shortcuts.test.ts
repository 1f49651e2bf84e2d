import { describe, expect, it } from 'vitest';
import { commandForKey } from './shortcuts';

// Under vitest there is no navigator: the platform is not macOS, so the command key is Ctrl.
const key = (
  k: string,
  mods: { ctrl?: boolean; shift?: boolean; alt?: boolean; meta?: boolean } = {},
) => ({
  key: k,
  ctrlKey: !!mods.ctrl,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
  metaKey: !!mods.meta,
});

describe('commandForKey', () => {
  it('maps the window shortcuts (Ctrl off macOS)', () => {
    expect(commandForKey(key('r', { ctrl: true }))).toBe('toggle-recording');
    expect(commandForKey(key('K', { ctrl: true }))).toBe('clear');
    expect(commandForKey(key('f', { ctrl: true }))).toBe('focus-filter');
    expect(commandForKey(key('b', { ctrl: true }))).toBe('toggle-sidebar');
    expect(commandForKey(key(',', { ctrl: true }))).toBe('open-preferences');
    expect(commandForKey(key('s', { ctrl: true }))).toBe('export-har');
    expect(commandForKey(key('o', { ctrl: true }))).toBe('import-har');
    expect(commandForKey(key('C', { ctrl: true, shift: true }))).toBe('copy-curl');
  });

  it('ignores plain letters, other modifiers and other keys', () => {
    expect(commandForKey(key('r'))).toBeUndefined();
    expect(commandForKey(key('r', { meta: true }))).toBeUndefined();
    expect(commandForKey(key('r', { ctrl: true, shift: true }))).toBeUndefined();
    expect(commandForKey(key('c', { ctrl: true }))).toBeUndefined();
    expect(commandForKey(key('r', { ctrl: true, alt: true }))).toBeUndefined();
    expect(commandForKey(key('a', { ctrl: true }))).toBeUndefined();
  });
});
