/** The Preferences dialog (`preferencesOpen` in the store). STUB until built (issue 5). */
export function Preferences() {
  return null;
}
