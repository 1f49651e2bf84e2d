/** The inspector: everything about the selected flow. STUB until built (issue 5). */
export function Inspector() {
  return null;
}
