/**
 * HAR export and import and the session switcher. STUB until built (issue 5).
 * `SessionTabs` sits above the table; `HarDialogs` shows what `harDialog` in the store asks for
 * and the progress of `jobs`.
 */
export function SessionTabs() {
  return null;
}
export function HarDialogs() {
  return null;
}
